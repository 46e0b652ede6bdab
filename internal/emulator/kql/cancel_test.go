package kql

import (
	"context"
	"errors"
	"testing"
	"time"
)

// cancelAfter is a context that reports Canceled from its (allowed+1)th Err
// call on, so tests can cancel at every check point of a run.
type cancelAfter struct {
	context.Context
	allowed, calls int
}

func (c *cancelAfter) Err() error {
	c.calls++
	if c.allowed >= 0 && c.calls > c.allowed {
		return context.Canceled
	}
	return nil
}

func TestRunStopsWhenContextCanceled(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	const q = `DeviceProcessEvents
		| where Timestamp > ago(20d)
		| project DeviceName, FileName, Timestamp
		| order by Timestamp
		| summarize count() by DeviceName, FileName
		| top 10 by count_`

	probe := &cancelAfter{Context: context.Background(), allowed: -1}
	if _, err := db.Run(probe, q); err != nil {
		t.Fatalf("uncanceled run: %v", err)
	}
	checks := probe.calls
	// Two per stage is the minimum: one between stages, one inside the
	// row loops of where/project/summarize.
	if checks < 10 {
		t.Fatalf("Run checked the context only %d times", checks)
	}
	for allowed := range checks {
		ctx := &cancelAfter{Context: context.Background(), allowed: allowed}
		res, err := db.Run(ctx, q)
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Fatalf("canceled at check %d of %d: got (%v, %v), want context.Canceled", allowed+1, checks, res, err)
		}
		var kerr *Error
		if errors.As(err, &kerr) {
			t.Fatalf("cancellation reported as query *Error: %v", err)
		}
	}
}

func TestRunWithDoneContext(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.Run(tt.ctx, "EmailEvents | count"); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRunChecksContextBetweenStages(t *testing.T) {
	db := newTestDatabase()
	// take does no per-row work, so every check here is a stage boundary:
	// one before the first stage, one before each stage, one at the end.
	probe := &cancelAfter{Context: context.Background(), allowed: -1}
	if _, err := db.Run(probe, "Events | take 5 | take 4 | take 3"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := 1 + 3 + 1; probe.calls != want {
		t.Errorf("context checked %d times, want %d", probe.calls, want)
	}
}

func TestStepsStopOnCanceledContext(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	rows := db.tables[TableEmailEvents].rows
	schema := db.tables[TableEmailEvents].columns
	tests := []string{
		`where Subject has "invoice"`,
		`project Subject`,
		`summarize count() by Subject`,
		`order by Timestamp`,
		`top 5 by Timestamp`,
	}
	for _, stageText := range tests {
		t.Run(stageText, func(t *testing.T) {
			q, err := parse("EmailEvents | " + stageText)
			if err != nil {
				t.Fatal(err)
			}
			plan, _, err := compileStages(q.stages, schema, sampleNow)
			if err != nil {
				t.Fatal(err)
			}
			// The step is called directly, so no check in Run can
			// intercept: the step itself must notice.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := plan[0].run(ctx, rows); !errors.Is(err, context.Canceled) {
				t.Errorf("step returned %v, want context.Canceled", err)
			}
		})
	}
}

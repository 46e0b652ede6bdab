package upstream

import (
	"reflect"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
)

func TestHuntingValue(t *testing.T) {
	dynamic := map[string]any{"a": []any{float64(1), "b"}}
	tests := []struct {
		colType string
		in      any
		want    any
	}{
		{"DateTime", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"DateTime", "2024-01-02T03:04:05.1234567Z", "2024-01-02T03:04:05.1234567Z"},
		{"DateTime", "2024-01-02T03:04:05.120", "2024-01-02T03:04:05.12Z"},
		{"datetime", "2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05Z"},
		{"DateTime", "garbage", "garbage"},
		{"Int64", float64(42), float64(42)},
		{"Long", "9007199254740993", float64(9007199254740992)}, // beyond 2^53: rounded
		{"Int", "x", "x"},
		{"Double", "1.5", 1.5},
		{"Real", float64(2.5), 2.5},
		{"Decimal", "3.25", 3.25},
		{"Int32", "NaN", "NaN"},
		{"Boolean", true, true},
		{"Boolean", "False", false},
		{"Boolean", float64(1), true},
		{"Boolean", float64(2), float64(2)},
		{"String", "s", "s"},
		{"Guid", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"Dynamic", dynamic, dynamic},
		{"Dynamic", "[1,2]", "[1,2]"},
		{"SomethingNew", float64(1), float64(1)},
		{"Int64", nil, nil},
	}
	for _, tt := range tests {
		if got := huntingValue(tt.colType, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("huntingValue(%s, %#v) = %#v, want %#v", tt.colType, tt.in, got, tt.want)
		}
	}
}

func TestHuntingDecodeKeyCase(t *testing.T) {
	want := &defender.HuntingResult{
		Columns: []defender.HuntingColumn{{Name: "When", Type: "DateTime"}, {Name: "Count", Type: "Long"}, {Name: "Extra", Type: "Dynamic"}},
		Rows: []map[string]any{{"When": "2024-05-01T00:00:00Z", "Count": float64(7),
			"Extra": map[string]any{"k": "v"}, "NotInSchema": "kept"}},
	}
	bodies := []string{
		`{"schema":[{"name":"When","type":"DateTime"},{"name":"Count","type":"Long"},{"name":"Extra","type":"Dynamic"}],
		  "results":[{"When":"2024-05-01T00:00:00","Count":"7","Extra":{"k":"v"},"NotInSchema":"kept"}]}`,
		`{"Schema":[{"Name":"When","Type":"DateTime"},{"Name":"Count","Type":"Long"},{"Name":"Extra","Type":"Dynamic"}],
		  "Results":[{"When":"2024-05-01T00:00:00.0000000Z","Count":7,"Extra":{"k":"v"},"NotInSchema":"kept"}]}`,
	}
	for _, body := range bodies {
		var s collectSink
		if err := decodeHunting(strings.NewReader(body), &s, false); err != nil {
			t.Fatal(err)
		}
		if got := &s.res; !reflect.DeepEqual(got, want) {
			t.Errorf("decoded =\n %+v\nwant\n %+v", got, want)
		}
	}
}

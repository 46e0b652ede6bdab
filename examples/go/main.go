package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

const tenant = "tenants/default"

func main() {
	addr := os.Getenv("GATEWAY_GRPC_ADDR")
	if addr == "" {
		addr = "localhost:50051"
	}
	// The sandbox serves plaintext gRPC. Against a gateway with TLS use
	// credentials.NewTLS (with a client certificate for mTLS).
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go client:", err)
		os.Exit(1)
	}
	defer conn.Close()
	if err := run(context.Background(), os.Stdout, conn); err != nil {
		fmt.Fprintln(os.Stderr, "go client:", err)
		os.Exit(1)
	}
}

// run makes the example's calls on conn and prints to w.
func run(ctx context.Context, w io.Writer, conn grpc.ClientConnInterface) error {
	incidents := defenderv1.NewIncidentServiceClient(conn)
	hunting := defenderv1.NewHuntingServiceClient(conn)

	// Every call gets a deadline.
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	list, err := incidents.ListIncidents(callCtx, &defenderv1.ListIncidentsRequest{Parent: tenant, PageSize: 3})
	if err != nil {
		return fmt.Errorf("ListIncidents: %w", err)
	}
	for _, inc := range list.GetIncidents() {
		fmt.Fprintf(w, "  %s  %s\n", inc.GetName(), inc.GetDisplayName())
	}
	fmt.Fprintf(w, "list incidents=%d\n", len(list.GetIncidents()))
	if len(list.GetIncidents()) == 0 {
		return errors.New("no incidents listed")
	}

	inc, err := incidents.GetIncident(callCtx, &defenderv1.GetIncidentRequest{
		Name: list.GetIncidents()[0].GetName(),
		View: defenderv1.IncidentView_INCIDENT_VIEW_FULL,
	})
	if err != nil {
		return fmt.Errorf("GetIncident: %w", err)
	}
	fmt.Fprintf(w, "get id=%s alerts=%d\n", inc.GetId(), len(inc.GetAlerts()))

	res, err := hunting.RunQuery(callCtx, &defenderv1.RunQueryRequest{
		Tenant: tenant,
		Query:  "AlertInfo | summarize count() by Severity",
	})
	if err != nil {
		return fmt.Errorf("RunQuery: %w", err)
	}
	for _, row := range res.GetRows() {
		cells := make([]string, 0, len(res.GetColumns()))
		for _, c := range res.GetColumns() {
			cells = append(cells, fmt.Sprintf("%s=%v", c.GetName(), row.GetFields()[c.GetName()].AsInterface()))
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(cells, " "))
	}
	fmt.Fprintf(w, "query columns=%d rows=%d\n", len(res.GetColumns()), len(res.GetRows()))

	if err := stream(ctx, w, hunting); err != nil {
		return err
	}
	if err := watch(ctx, w, incidents, list.GetIncidents()[len(list.GetIncidents())-1].GetName()); err != nil {
		return err
	}
	return showError(callCtx, w, incidents)
}

// watch opens a WatchIncidents stream, waits for its first heartbeat,
// comments on the incident name and waits for that change to arrive. A
// real watcher keeps each message's cursor and resumes with the last one.
func watch(ctx context.Context, w io.Writer, incidents defenderv1.IncidentServiceClient, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := incidents.WatchIncidents(ctx, &defenderv1.WatchIncidentsRequest{Parent: tenant})
	if err != nil {
		return fmt.Errorf("WatchIncidents: %w", err)
	}
	first, err := s.Recv()
	if err != nil {
		return fmt.Errorf("WatchIncidents: %w", err)
	}
	if first.GetHeartbeat() == nil || first.GetCursor() == "" {
		return fmt.Errorf("WatchIncidents: the first message is not a heartbeat with a cursor: %v", first)
	}
	if _, err := incidents.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
		Incident: &defenderv1.Incident{Name: name}, Comment: "Seen by the Go example's watch.",
	}); err != nil {
		return fmt.Errorf("UpdateIncident: %w", err)
	}
	for {
		msg, err := s.Recv()
		if err != nil {
			return fmt.Errorf("WatchIncidents: %w", err)
		}
		if c := msg.GetChange(); c != nil && c.GetIncident().GetName() == name {
			fmt.Fprintf(w, "watch first=heartbeat change=%s\n", strings.TrimPrefix(c.GetType().String(), "CHANGE_TYPE_"))
			return nil
		}
	}
}

// stream reads a StreamQuery: the schema, batches of at most 500 rows, then
// the end.
func stream(ctx context.Context, w io.Writer, hunting defenderv1.HuntingServiceClient) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := hunting.StreamQuery(ctx, &defenderv1.StreamQueryRequest{
		Tenant:       tenant,
		Query:        "DeviceProcessEvents | take 1200",
		MaxBatchRows: 500,
	})
	if err != nil {
		return fmt.Errorf("StreamQuery: %w", err)
	}
	var columns, batches, received int
	var end *defenderv1.QueryEnd
	for {
		msg, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("StreamQuery: %w", err)
		}
		switch part := msg.GetPart().(type) {
		case *defenderv1.StreamQueryResponse_Schema:
			columns = len(part.Schema.GetColumns())
		case *defenderv1.StreamQueryResponse_Batch:
			batches++
			received += len(part.Batch.GetRows())
		case *defenderv1.StreamQueryResponse_End:
			end = part.End
		}
	}
	if end == nil {
		return errors.New("StreamQuery: the stream ended without its end message")
	}
	if int64(received) != end.GetRowCount() {
		return fmt.Errorf("StreamQuery: received %d rows, the end says %d", received, end.GetRowCount())
	}
	fmt.Fprintf(w, "stream columns=%d batches=%d rows=%d\n", columns, batches, end.GetRowCount())
	return nil
}

// showError makes a call with a bad parent and reads the ErrorInfo and
// BadRequest of its status.
func showError(ctx context.Context, w io.Writer, incidents defenderv1.IncidentServiceClient) error {
	_, err := incidents.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "bad"})
	if err == nil {
		return errors.New("a bad parent was accepted")
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("not a gRPC status: %w", err)
	}
	var info *errdetails.ErrorInfo
	var field string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 {
				field = v[0].GetField()
			}
		}
	}
	if info == nil {
		return fmt.Errorf("no ErrorInfo in %v", st)
	}
	fmt.Fprintf(w, "  %s\n", st.Message())
	fmt.Fprintf(w, "error code=%s reason=%s domain=%s field=%s\n",
		codeName(st.Code()), info.GetReason(), info.GetDomain(), field)
	return nil
}

// codeName gives a code's canonical name (INVALID_ARGUMENT).
func codeName(c codes.Code) string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range c.String() {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		prev = r
	}
	return b.String()
}

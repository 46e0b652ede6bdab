package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

func TestRunQuery(t *testing.T) {
	forEach(t, func(t *testing.T, g *gateway, c client) {
		ctx := context.Background()
		resp, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home,
			Query: `DeviceProcessEvents | where FileName =~ "powershell.exe" | project Timestamp, DeviceName, ProcessId | take 5`})
		mustOK(t, err)
		var cols []string
		for _, col := range resp.GetColumns() {
			cols = append(cols, col.GetName()+":"+col.GetType())
		}
		if strings.Join(cols, ",") != "Timestamp:DateTime,DeviceName:String,ProcessId:Int64" {
			t.Errorf("columns = %v", cols)
		}
		if len(resp.GetRows()) != 5 {
			t.Fatalf("got %d rows, want 5", len(resp.GetRows()))
		}
		for _, row := range resp.GetRows() {
			f := row.GetFields()
			if _, err := time.Parse(time.RFC3339Nano, f["Timestamp"].GetStringValue()); err != nil {
				t.Errorf("Timestamp %v is not an RFC 3339 string: %v", f["Timestamp"], err)
			}
			if f["ProcessId"].GetNumberValue() <= 0 {
				t.Errorf("ProcessId %v is not a positive number", f["ProcessId"])
			}
			if f["DeviceName"].GetStringValue() == "" {
				t.Errorf("DeviceName %v is empty", f["DeviceName"])
			}
		}
		isXDR := strings.Contains(t.Name(), "/xdr/")
		if got := resp.GetStats() != nil; got != isXDR {
			t.Errorf("stats present = %v; want them exactly on XDR", got)
		}

		agg, err := c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "AlertInfo | summarize count() by Severity"})
		mustOK(t, err)
		if len(agg.GetColumns()) != 2 || len(agg.GetRows()) == 0 {
			t.Errorf("summarize returned %v", agg)
		}

		_, err = c.RunQuery(ctx, &defenderv1.RunQueryRequest{Tenant: home, Query: "DeviceProcessEvents | whre FileName == 'x'"})
		wantStatus(t, err, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST", "whre")
	})
}

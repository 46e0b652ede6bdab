package service

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestToValueHandlesStrayTypes(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want *structpb.Value
	}{
		{"int", 7, structpb.NewNumberValue(7)},
		{"uint64", uint64(8), structpb.NewNumberValue(8)},
		{"float32", float32(0.5), structpb.NewNumberValue(0.5)},
		{"+Inf", math.Inf(1), structpb.NewStringValue("Infinity")},
		{"-Inf", math.Inf(-1), structpb.NewStringValue("-Infinity")},
		{"map of strings", map[string]string{"k": "v"}, structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("v")}})},
		{"array", [2]bool{true, false}, structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewBoolValue(true), structpb.NewBoolValue(false)}})},
		{"nil map", map[string]any(nil), structpb.NewNullValue()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toValue(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []any{make(chan int), struct{}{}, []any{func() {}}, map[int]string{1: "x"}} {
		if _, err := toValue(bad); err == nil {
			t.Errorf("toValue(%T) succeeded", bad)
		}
	}
}

func TestDetailsToStructDropsWhatItCannotRepresent(t *testing.T) {
	got := detailsToStruct(map[string]any{"ok": "v", "bad": make(chan int)})
	want := &structpb.Struct{Fields: map[string]*structpb.Value{"ok": structpb.NewStringValue("v")}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	if detailsToStruct(nil) != nil {
		t.Error("empty details must stay unset")
	}
}

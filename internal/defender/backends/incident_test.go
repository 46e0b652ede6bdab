package backends

import (
	"context"
	"net/http"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestIncidentIDValidation(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"id": "1"})
	})
	backends := []defender.Backend{newTestGraph(t, srv.URL+"/v1.0"), newTestXDR(t, srv.URL)}
	s := defender.StatusActive
	for _, b := range backends {
		for _, id := range []string{"", "abc", "1/2", "../1", "12a", "1 ", "123456789012345678901"} {
			_, err := b.GetIncident(context.Background(), id, false)
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
			_, err = b.UpdateIncident(context.Background(), id, defender.IncidentUpdate{Status: &s})
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
		}
	}
	if rec.Count() != 0 {
		t.Errorf("%d requests sent for invalid ids", rec.Count())
	}
}

func TestUpdateRejectedBeforeAnyCall(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 200, map[string]any{"id": "1"})
	})
	notAvailable, unknown, awaiting := defender.DeterminationNotAvailable, defender.ClassificationUnknown, defender.StatusAwaitingAction
	tests := []struct {
		name    string
		backend defender.Backend
		update  defender.IncidentUpdate
		reason  string
	}{
		{"graph empty", newTestGraph(t, srv.URL), defender.IncidentUpdate{}, defender.ReasonInvalidArgument},
		{"xdr empty", newTestXDR(t, srv.URL), defender.IncidentUpdate{}, defender.ReasonInvalidArgument},
		{"graph has no notAvailable", newTestGraph(t, srv.URL), defender.IncidentUpdate{Determination: &notAvailable, Comment: "x"}, defender.ReasonUnsupportedByBackend},
		{"unknown classification", newTestGraph(t, srv.URL), defender.IncidentUpdate{Classification: &unknown}, defender.ReasonInvalidArgument},
		{"xdr has no awaitingAction", newTestXDR(t, srv.URL), defender.IncidentUpdate{Status: &awaiting}, defender.ReasonUnsupportedByBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.backend.UpdateIncident(context.Background(), "1", tt.update)
			defendertest.MustError(t, err, defender.KindInvalidArgument, tt.reason)
		})
	}
	if rec.Count() != 0 {
		t.Errorf("%d requests sent", rec.Count())
	}
}

func TestIncidentIDsArePositiveInt64s(t *testing.T) {
	srv, rec := defendertest.NewServer(t, func(w http.ResponseWriter, _ *http.Request, _ defendertest.RecordedRequest) {
		defendertest.WriteJSON(w, 404, map[string]any{})
	})
	for _, kind := range []defender.BackendKind{defender.BackendGraph, defender.BackendXDR} {
		b := newTestBackend(t, kind, srv.URL)
		for _, id := range []string{"", "0", "007", "+7", "-7", "7a", "9223372036854775808", "123456789012345678901"} {
			_, err := b.GetIncident(context.Background(), id, false)
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
			s := defender.StatusActive
			_, err = b.UpdateIncident(context.Background(), id, defender.IncidentUpdate{Status: &s})
			defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
		}
	}
	if rec.Count() != 0 {
		t.Errorf("%d requests sent for invalid ids", rec.Count())
	}
}

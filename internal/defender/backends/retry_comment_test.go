package backends

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// commentServer is an upstream of one incident whose comment requests
// fail as scripted: "apply-reset" applies the comment then cuts the
// connection, "reset" cuts it without applying, "500-applied" applies and
// answers 500, "ok" applies and answers.
type commentServer struct {
	mu       sync.Mutex
	comments []string
	posts    int
	script   []string
}

func (s *commentServer) handler(t *testing.T, kind defender.BackendKind) func(http.ResponseWriter, *http.Request, defendertest.RecordedRequest) {
	return func(w http.ResponseWriter, r *http.Request, rr defendertest.RecordedRequest) {
		isComment := kind == defender.BackendGraph && r.Method == http.MethodPost ||
			kind == defender.BackendXDR && r.Method == http.MethodPatch
		if !isComment {
			s.mu.Lock()
			comments := make([]map[string]string, 0, len(s.comments))
			for _, c := range s.comments {
				comments = append(comments, map[string]string{"comment": c, "createdDateTime": time.Now().UTC().Format(time.RFC3339),
					"createdTime": time.Now().UTC().Format(time.RFC3339)})
			}
			s.mu.Unlock()
			defendertest.WriteJSON(w, 200, map[string]any{"id": "7", "incidentId": 7, "status": "active", "comments": comments, "alerts": []any{}})
			return
		}
		var body struct {
			Comment string `json:"comment"`
		}
		_ = json.Unmarshal([]byte(rr.Body), &body)
		s.mu.Lock()
		mode := "ok"
		if s.posts < len(s.script) {
			mode = s.script[s.posts]
		}
		s.posts++
		if mode != "reset" && body.Comment != "" {
			s.comments = append(s.comments, body.Comment)
		}
		s.mu.Unlock()
		switch mode {
		case "apply-reset", "reset":
			resetConn(t, w)
		case "500-applied":
			w.WriteHeader(500)
		default:
			if kind == defender.BackendXDR {
				w.WriteHeader(200) // empty: the client reads the incident back
				return
			}
			defendertest.WriteJSON(w, 201, map[string]string{"comment": body.Comment})
		}
	}
}

func TestCommentNeverPostsTwice(t *testing.T) {
	tests := []struct {
		name     string
		backend  defender.BackendKind
		script   []string
		posts    int
		comments int
	}{
		{name: "graph apply then reset", backend: defender.BackendGraph, script: []string{"apply-reset"}, posts: 1, comments: 1},
		{name: "graph 500 after applying", backend: defender.BackendGraph, script: []string{"500-applied"}, posts: 1, comments: 1},
		{name: "graph reset before applying is re-posted", backend: defender.BackendGraph, script: []string{"reset"}, posts: 2, comments: 1},
		{name: "xdr patch with comment: apply then reset", backend: defender.BackendXDR, script: []string{"apply-reset"}, posts: 1, comments: 1},
		{name: "xdr reset before applying is re-sent", backend: defender.BackendXDR, script: []string{"reset"}, posts: 2, comments: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &commentServer{script: tt.script}
			srv, _ := defendertest.NewServer(t, s.handler(t, tt.backend))
			b, _ := retryingBackend(t, tt.backend, srv.URL)
			text := "checked by the SOC"
			_, err := b.UpdateIncident(context.Background(), "7", defender.IncidentUpdate{Comment: text})
			if err != nil {
				t.Fatalf("UpdateIncident: %v", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.posts != tt.posts || len(s.comments) != tt.comments {
				t.Errorf("posts = %d, comments = %v; want %d posts, %d comment(s)", s.posts, s.comments, tt.posts, tt.comments)
			}
		})
	}
}

func TestCommentVerifiedBeforeRepostAfter500(t *testing.T) {
	// A 500 does not prove the comment was not applied: the incident is
	// read first, and the comment is there.
	s := &commentServer{script: []string{"500-applied"}}
	srv, rec := defendertest.NewServer(t, s.handler(t, defender.BackendGraph))
	b, _ := retryingBackend(t, defender.BackendGraph, srv.URL)
	if _, err := b.UpdateIncident(context.Background(), "7", defender.IncidentUpdate{Comment: "x"}); err != nil {
		t.Fatalf("UpdateIncident: %v", err)
	}
	var gets int
	for _, r := range rec.All() {
		if r.Method == http.MethodGet {
			gets++
		}
	}
	if gets != 2 { // the verify, then the read-back
		t.Errorf("GETs = %d, want 2 (verify and read-back)", gets)
	}
}

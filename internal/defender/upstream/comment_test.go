package upstream

import (
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

func TestHasComment(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		comments []defender.Comment
		want     bool
	}{
		{name: "none", want: false},
		{name: "same text, recent", comments: []defender.Comment{{Text: "a", CreateTime: now}}, want: true},
		{name: "same text, no time", comments: []defender.Comment{{Text: "a"}}, want: true},
		{name: "same text, long ago", comments: []defender.Comment{{Text: "a", CreateTime: now.Add(-time.Hour)}}, want: false},
		{name: "other text", comments: []defender.Comment{{Text: "b", CreateTime: now}}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasComment(tt.comments, "a", now.Add(-commentSkew)); got != tt.want {
				t.Errorf("hasComment = %v, want %v", got, tt.want)
			}
		})
	}
}

package service

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// huntingResultToProto converts a hunting result. A value that cannot be
// represented fails the call as an internal error: dropping it would
// silently change a query's answer.
func huntingResultToProto(r *defender.HuntingResult) (*defenderv1.RunQueryResponse, error) {
	resp := &defenderv1.RunQueryResponse{}
	if r == nil {
		return resp, nil
	}
	resp.Columns = make([]*defenderv1.Column, 0, len(r.Columns))
	for _, c := range r.Columns {
		resp.Columns = append(resp.Columns, &defenderv1.Column{Name: c.Name, Type: c.Type})
	}
	resp.Rows = make([]*structpb.Struct, 0, len(r.Rows))
	for i, row := range r.Rows {
		s, err := toStruct(row)
		if err != nil {
			return nil, internalError(fmt.Errorf("hunting row %d: %w", i, err))
		}
		if s == nil {
			s = &structpb.Struct{}
		}
		resp.Rows = append(resp.Rows, s)
	}
	if r.Stats != nil {
		s, err := toStruct(r.Stats)
		if err != nil {
			return nil, internalError(fmt.Errorf("hunting stats: %w", err))
		}
		resp.Stats = s
	}
	return resp, nil
}

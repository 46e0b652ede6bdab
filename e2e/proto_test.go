package e2e

import "google.golang.org/protobuf/proto"

func protoClone[M proto.Message](m M) M { return proto.Clone(m).(M) }

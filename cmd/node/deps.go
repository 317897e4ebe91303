package main

// Blank imports that pin the runtime dependencies in go.mod until the
// packages that use them land. Remove an entry once real code imports it.
import (
	_ "github.com/asynkron/protoactor-go/actor"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "google.golang.org/protobuf/proto"
)

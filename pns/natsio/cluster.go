package natsio

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"google.golang.org/protobuf/proto"

	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// Error codes of a refused cluster status request, in the
// Nats-Service-Error-Code header (the NATS services convention).
const (
	// CodeBadRequest: the request did not decode as a
	// brain.v1.ClusterStatusRequest.
	CodeBadRequest = 400
	// CodeUnavailable: the node has no status to give yet (it is still
	// joining its cluster).
	CodeUnavailable = 503
)

// ServeClusterStatus answers brain.v1.ClusterStatusRequest requests on
// subject (normally natsauth.ClusterStatusSubject) with status() as a
// marshalled brain.v1.ClusterStatus, until the returned subscription is
// unsubscribed. It changes nothing. status is called once per request, on
// the subscription's goroutine, and must be safe to call while the node
// runs.
//
// A request that does not decode, or one that comes while status returns
// nil, is answered with an empty body and the headers Nats-Service-Error
// (the reason) and Nats-Service-Error-Code (CodeBadRequest or
// CodeUnavailable), the convention of NATS services; RequestClusterStatus
// turns them into an error. Requests without a reply subject are ignored.
// Every node of a cluster may serve the subject: a client takes the first
// answer.
func ServeClusterStatus(nc *nats.Conn, subject string, status func() *brainv1.ClusterStatus) (*nats.Subscription, error) {
	if status == nil {
		return nil, errors.New("natsio: ServeClusterStatus: status func is nil")
	}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		var req brainv1.ClusterStatusRequest
		if err := proto.Unmarshal(m.Data, &req); err != nil {
			_ = respondError(m, CodeBadRequest, fmt.Sprintf("malformed cluster status request (%d bytes): %v", len(m.Data), err))
			return
		}
		st := status()
		if st == nil {
			_ = respondError(m, CodeUnavailable, "this node has no cluster status yet")
			return
		}
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
		if err != nil {
			_ = respondError(m, 500, fmt.Sprintf("encoding the cluster status: %v", err))
			return
		}
		_ = m.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("natsio: subscribing to %s: %w", subject, err)
	}
	return sub, nil
}

// respondError answers m with an empty body and the error headers.
func respondError(m *nats.Msg, code int, msg string) error {
	r := nats.NewMsg(m.Reply)
	r.Header.Set(micro.ErrorHeader, msg)
	r.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(code))
	return m.RespondMsg(r)
}

// ServiceError is a refusal a responder sent in the Nats-Service-Error
// headers.
type ServiceError struct {
	Subject string
	Code    int
	Message string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("the brain refused the request on %s: %s (code %d)", e.Subject, e.Message, e.Code)
}

// RequestClusterStatus asks on subject for the cluster status and waits
// for the first answer until ctx ends. The errors: nats.ErrNoResponders
// when nothing serves the subject, ctx's error when nothing answered in
// time, a *ServiceError when the node refused, or a decoding error.
func RequestClusterStatus(ctx context.Context, nc *nats.Conn, subject string) (*brainv1.ClusterStatus, error) {
	req, err := proto.Marshal(&brainv1.ClusterStatusRequest{})
	if err != nil {
		return nil, err
	}
	m, err := nc.RequestWithContext(ctx, subject, req)
	if err != nil {
		return nil, err
	}
	if e := serviceError(subject, m); e != nil {
		return nil, e
	}
	var st brainv1.ClusterStatus
	if err := proto.Unmarshal(m.Data, &st); err != nil {
		return nil, fmt.Errorf("the answer on %s is not a brain.v1.ClusterStatus: %w", subject, err)
	}
	return &st, nil
}

// serviceError returns the refusal m carries in its headers, or nil.
func serviceError(subject string, m *nats.Msg) error {
	if m.Header == nil {
		return nil
	}
	msg, code := m.Header.Get(micro.ErrorHeader), m.Header.Get(micro.ErrorCodeHeader)
	if msg == "" && code == "" {
		return nil
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		n = 0
	}
	if msg == "" {
		msg = "no reason given"
	}
	return &ServiceError{Subject: subject, Code: n, Message: msg}
}

package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

type probeResult int

const (
	probeUnreachable probeResult = iota // no TCP connection
	probeDropped                        // connected, closed without a word: the label differs
	probeSilent                         // connected, no reply in time, or a reply that is not memberlist
	probeAcked                          // a memberlist node with our label answered
)

// memberlist's stream message types (part of its wire protocol).
const (
	mlPingMsg     = 0
	mlAckRespMsg  = 2
	mlCompressMsg = 9
	mlEncryptMsg  = 10
	mlHasCrcMsg   = 12
	mlErrMsg      = 13
)

// probe sends one memberlist stream ping to addr, labelled with label, and
// reports how the other side took it. A memberlist node closes a stream
// whose label is not its own without answering, which is what tells a
// label mismatch from a seed that is down.
func probe(addr, label string, limit time.Duration) (probeResult, error) {
	conn, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		return probeUnreachable, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(limit)); err != nil {
		return probeSilent, err
	}
	if label != "" {
		if err := memberlist.AddLabelHeaderToStream(conn, label); err != nil {
			return probeSilent, err
		}
	}
	var msg bytes.Buffer
	msg.WriteByte(mlPingMsg)
	ping := struct {
		SeqNo uint32
		Node  string
	}{SeqNo: 1}
	if err := codec.NewEncoder(&msg, &codec.MsgpackHandle{}).Encode(&ping); err != nil {
		return probeSilent, err
	}
	if _, err := conn.Write(msg.Bytes()); err != nil {
		return probeDropped, err
	}
	r := bufio.NewReader(conn)
	kind, err := r.ReadByte()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return probeSilent, err
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return probeDropped, err
		}
		return probeSilent, err
	}
	switch kind {
	case mlAckRespMsg, mlCompressMsg, mlEncryptMsg, mlHasCrcMsg, mlErrMsg:
		// memberlist answered (compressing or encrypting as configured):
		// it accepted our label.
	default:
		return probeSilent, fmt.Errorf("reply starts with byte %d, not a memberlist message", kind)
	}
	return probeAcked, nil
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

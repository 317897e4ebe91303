package brain

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/npu"
)

// RecordOptions tune a Recorder.
type RecordOptions struct {
	// Sync makes every flush an fsync too.
	Sync bool
	// FlushEvery is the longest a written burst waits in memory before it
	// reaches the file; 0 means one second.
	FlushEvery time.Duration
	// BufferSize flushes early when this many bytes wait; 0 means 1 MiB.
	BufferSize int
}

// Recorder writes the spike record: one JSON line per burst (see
// actors.AppendRecord). Lines reach the file whole, in one write per flush,
// at least every RecordOptions.FlushEvery (a timer flushes even while no
// burst completes), when the buffer fills, on Flush and on Close; a process
// killed at any moment leaves a file of complete lines, save possibly a
// last partial one should the kill interrupt that write. Write is for one
// goroutine (the burst coordinator); Flush may be called from any.
type Recorder struct {
	path  string
	ids   []string
	opts  RecordOptions
	fileM sync.Mutex // serializes writes to f; taken before mu
	f     *os.File
	spare []byte // the other buffer, owned by whoever holds fileM

	mu      sync.Mutex // guards buf, err, closed
	buf     []byte
	err     error
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

// NewRecorder creates (truncates) the record file at path for a brain
// whose areas have the canonical IDs ids, by area index. An empty path
// gives a Recorder that writes nothing.
func NewRecorder(path string, ids []string, opts RecordOptions) (*Recorder, error) {
	r := &Recorder{path: path, ids: ids, opts: opts}
	if path == "" {
		return r, nil
	}
	if r.opts.FlushEvery <= 0 {
		r.opts.FlushEvery = time.Second
	}
	if r.opts.BufferSize <= 0 {
		r.opts.BufferSize = 1 << 20
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	r.f = f
	r.buf = make([]byte, 0, r.opts.BufferSize+r.opts.BufferSize/4)
	r.spare = make([]byte, 0, cap(r.buf))
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go r.flusher()
	return r, nil
}

func (r *Recorder) flusher() {
	defer close(r.stopped)
	t := time.NewTicker(r.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = r.Flush() // an error is kept and returned by the next Write
		case <-r.stop:
			return
		}
	}
}

// Write appends the line of one burst. It returns the first error any
// earlier flush met, so a run stops once its record cannot be written.
func (r *Recorder) Write(burst npu.Burst, fired [][]uint32) error {
	if r.f == nil {
		return nil
	}
	r.mu.Lock()
	if r.err != nil {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.buf = actors.AppendRecord(r.buf, burst, r.ids, fired)
	full := len(r.buf) >= r.opts.BufferSize
	r.mu.Unlock()
	if full {
		return r.Flush()
	}
	return nil
}

// Flush writes every line written so far to the file (and syncs it with
// RecordOptions.Sync). Checkpoints call it so that the record reaches at
// least the checkpoint's burst.
func (r *Recorder) Flush() error {
	if r.f == nil {
		return nil
	}
	r.fileM.Lock()
	defer r.fileM.Unlock()
	r.mu.Lock()
	if r.err != nil || r.closed {
		err := r.err
		r.mu.Unlock()
		return err
	}
	data := r.buf
	r.buf = r.spare[:0]
	r.mu.Unlock()

	var err error
	if len(data) > 0 {
		_, err = r.f.Write(data)
		if err == nil && r.opts.Sync {
			err = r.f.Sync()
		}
	}
	r.spare = data[:0]
	if err != nil {
		err = fmt.Errorf("record %s: %w", r.path, err)
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return err
}

// Close flushes and closes the file and returns the first error the record
// met. Calls after the first return nil.
func (r *Recorder) Close() error {
	if r.f == nil {
		return nil
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	close(r.stop)
	<-r.stopped
	err := r.Flush()
	r.mu.Lock()
	r.closed = true
	if err == nil {
		err = r.err
	}
	r.mu.Unlock()
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("record %s: %w", r.path, cerr)
	}
	return err
}

package proxy

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/kfup/kfup/components/ingress/route"
)

// balancer is the transport of one forwarded request: it sends the request to one of the
// backend's endpoints, chosen by twoChoices on the requests each has in flight, and to
// another one when the chosen endpoint cannot be dialled — above all a connection
// refused, a pod that stopped listening before it left the table; or no route to it, a
// pod already gone. A connection never made carried no byte of the request, so trying
// elsewhere never repeats it; any other error, and any answer, is the request's. An
// ExternalName backend goes to its address, dialled by name.
type balancer struct {
	p       *Proxy
	next    http.RoundTripper
	backend *route.Backend
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.backend.Address != "" {
		return b.next.RoundTrip(req)
	}
	candidates := b.backend.Endpoints
	var body *heldBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &heldBody{ReadCloser: req.Body, held: true}
	}
	for {
		i := twoChoices(len(candidates), func(i int) int64 { return b.p.inFlight(candidates[i]).Load() }, rand.IntN)
		addr := candidates[i]
		n := b.p.inFlight(addr)
		out := req.WithContext(req.Context()) // a shallow copy: RoundTrip must not change req
		u := *req.URL
		u.Host = addr
		out.URL = &u
		if body != nil {
			out.Body = body
		}
		n.Add(1)
		resp, err := b.next.RoundTrip(out)
		if err == nil {
			body.release()
			resp.Body = trackBody(resp.Body, n)
			return resp, nil
		}
		n.Add(-1)
		if !notDialled(err) || req.Context().Err() != nil || len(candidates) == 1 {
			body.release()
			return nil, err
		}
		b.p.log.Info("endpoint not reached; trying another", "backend", b.backend.String(), "endpoint", addr, "err", err)
		candidates = slices.Delete(slices.Clone(candidates), i, i+1)
	}
}

// notDialled says err is a failed dial: refused, or no route to the host (nothing sent).
func notDialled(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" &&
		(errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH))
}

// twoChoices picks one of n endpoints by the power of two choices: two distinct ones
// drawn at random (rnd(k) is uniform in [0, k)), the one with fewer requests in flight
// (load), the first drawn on a tie. It spreads load nearly as well as asking every
// endpoint, at the cost of two reads, and never herds every request onto the one
// endpoint that looked idlest a moment ago.
func twoChoices(n int, load func(i int) int64, rnd func(k int) int) int {
	if n <= 1 {
		return 0
	}
	a := rnd(n)
	b := rnd(n - 1)
	if b >= a {
		b++
	}
	if load(b) < load(a) {
		return b
	}
	return a
}

// heldBody is a request body that the transport cannot close while the balancer may
// still send it elsewhere: http.Transport closes a request's body when its dial fails.
// A close asked for meanwhile happens on release.
type heldBody struct {
	io.ReadCloser
	mu          sync.Mutex
	held, asked bool
}

func (h *heldBody) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.asked = true
		return nil
	}
	return h.ReadCloser.Close()
}

// release lets closes through from now on, closing the body if one was asked for.
func (h *heldBody) release() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = false
	if h.asked {
		h.asked = false
		_ = h.ReadCloser.Close()
	}
}

// trackBody counts the request out of n's in-flight requests once its answer's body is
// closed (httputil.ReverseProxy closes it when done copying). An upgraded connection's
// body stays an io.ReadWriteCloser, as ReverseProxy needs.
func trackBody(body io.ReadCloser, n *atomic.Int64) io.ReadCloser {
	d := &doneOnce{n: n}
	if rwc, ok := body.(io.ReadWriteCloser); ok {
		return &trackedConn{ReadWriteCloser: rwc, done: d}
	}
	return &trackedBody{ReadCloser: body, done: d}
}

type doneOnce struct {
	once sync.Once
	n    *atomic.Int64
}

func (d *doneOnce) done() { d.once.Do(func() { d.n.Add(-1) }) }

type trackedBody struct {
	io.ReadCloser
	done *doneOnce
}

func (t *trackedBody) Close() error {
	defer t.done.done()
	return t.ReadCloser.Close()
}

type trackedConn struct {
	io.ReadWriteCloser
	done *doneOnce
}

func (t *trackedConn) Close() error {
	defer t.done.done()
	return t.ReadWriteCloser.Close()
}

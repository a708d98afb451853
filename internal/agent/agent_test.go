package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitForHost(t *testing.T) {
	calls := 0
	lookup := func(_ context.Context, host string) ([]string, error) {
		calls++
		if calls < 3 {
			return nil, errors.New("NXDOMAIN")
		}
		return []string{"10.244.0.6"}, nil
	}
	if err := WaitForHost(context.Background(), io.Discard, lookup, "job-master-0", 5, time.Millisecond); err != nil || calls != 3 {
		t.Fatalf("err %v after %d lookups", err, calls)
	}
	calls = -100
	if err := WaitForHost(context.Background(), io.Discard, lookup, "job-master-0", 2, time.Millisecond); err == nil {
		t.Fatal("want an error after the tries run out")
	}
}

func TestQuitSidecar(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/quitquitquit" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if n.Add(1) < 2 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
	}))
	defer srv.Close()
	if err := QuitSidecar(context.Background(), io.Discard, srv.Client(), srv.URL+"/quitquitquit", 5, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := QuitSidecar(context.Background(), io.Discard, srv.Client(), srv.URL+"/nope", 2, time.Millisecond); err == nil {
		t.Fatal("want an error for a failing endpoint")
	}
}

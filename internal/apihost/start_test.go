package apihost

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// What a (re)starting API server answers is retried; what a misconfigured manager gets is
// not.
func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &url.Error{Op: "Get", URL: "https://10.96.0.1/api", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, true},
		{"certificate without IP SANs", fmt.Errorf("get: %w", x509.HostnameError{Host: "10.96.0.1", Certificate: &x509.Certificate{}}), true},
		{"unavailable", apierrors.NewServiceUnavailable("starting"), true},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"unauthorized", apierrors.NewUnauthorized("bad token"), false},
		{"forbidden", apierrors.NewForbidden(gr, "", errors.New("rbac")), false},
		{"not found", apierrors.NewNotFound(gr, "x"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// An API server that refuses the manager's credentials ends the wait at once, with its
// answer, instead of a minute of retries.
func TestWaitForAPIServerStopsOnPermanentErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`)
	}))
	defer srv.Close()
	err := waitForAPIServer(context.Background(), &rest.Config{Host: srv.URL})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("want the server's Unauthorized, got %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("asked %d times, want once: a permanent error is not retried", n)
	}
}

package modelserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfup/kfup/internal/errs"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the error, or the options run saw
	}{
		{[]string{"--model-name", "iris"}, "iris /mnt/models 8080 16777216"},
		{[]string{"--model-name", "iris", "--model-dir", "/m/model.json", "--http-port", "9000", "--max-request-bytes", "4096"}, "iris /m/model.json 9000 4096"},
		{nil, "usage: --model-name is required"},
		{[]string{"--model-name", "a/b"}, `usage: --model-name "a/b" cannot be used in a URL path`},
		{[]string{"--model-name", "iris", "--http-port", "0"}, "usage: --http-port 0 is not a port"},
		{[]string{"--model-name", "iris", "--http-port", "70000"}, "usage: --http-port 70000 is not a port"},
		{[]string{"--model-name", "iris", "--max-request-bytes", "10"}, "usage: --max-request-bytes 10 is too small"},
		{[]string{"--model-name", "iris", "--model-dir", ""}, "usage: --model-dir is empty"},
		{[]string{"--model-name", "iris", "extra"}, `usage: modelserver takes no arguments, got "extra"`},
		{[]string{"--model-name", "iris", "--http-port", "x"}, `invalid argument "x" for "--http-port" flag`},
	} {
		var got string
		cmd := NewCmd(func(_ context.Context, o *Options) error {
			got = fmt.Sprint(o.ModelName, " ", o.ModelDir, " ", o.HTTPPort, " ", o.MaxRequestBytes)
			return nil
		})
		cmd.SetArgs(tc.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err != nil {
			got = err.Error()
			if errs.KindOf(err) == errs.KindUsage {
				got = "usage: " + got
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestFindModel(t *testing.T) {
	dir := t.TempDir()
	write := func(names ...string) string {
		d, _ := os.MkdirTemp(dir, "")
		for _, n := range names {
			os.WriteFile(filepath.Join(d, n), []byte("{}"), 0o600)
		}
		return d
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"iris.json"}, "iris.json"},
		{[]string{"a.json", "model.ubj", "README.md"}, "model.ubj"},
		{[]string{"a.json", "b.ubj"}, "has several models (a.json, b.ubj)"},
		{[]string{"model.bst"}, `has model.bst but no XGBoost JSON or UBJ model; re-save it with booster.save_model("model.json")`},
		{nil, "no .json or .ubj model in"},
	} {
		got, err := FindModel(write(tc.files...))
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.files, got, tc.want)
		}
	}
	if got, _ := FindModel("testdata/xgboost/multi_softprob.json"); got != "testdata/xgboost/multi_softprob.json" {
		t.Errorf("a file is its own model: %q", got)
	}
}

// Run serves a model and stops, without an error, when its context ends (with a cause,
// as signal.NotifyContext ends it on SIGTERM).
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, &Options{ModelName: "iris", ModelDir: "testdata/xgboost/multi_softprob.json", HTTPPort: port, MaxRequestBytes: DefaultMaxRequestBytes, Out: &out})
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/v2/models/iris/ready", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel(errors.New("terminated signal received"))
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "model.json")
	os.WriteFile(bad, []byte(`{"learner":`), 0o600)
	err = Run(context.Background(), &Options{ModelName: "iris", ModelDir: bad, HTTPPort: port, MaxRequestBytes: DefaultMaxRequestBytes, Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "parse xgboost model") {
		t.Fatalf("Run with a broken model: %v", err)
	}
}

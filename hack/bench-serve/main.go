// Command bench-serve measures kfup's model server (OIP v2 REST infer on a small XGBoost
// model) against a bare net/http handler that returns the same response body, with the
// same load generator in the same run: N keep-alive clients for a fixed duration each,
// on loopback. It prints req/s, p50 and p99 side by side and the throughput ratio
// against the target (60 % of the bare handler).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kfup/kfup/components/serving/modelserver"
	"github.com/kfup/kfup/hack/internal/httpload"
)

// Result is one side's figures.
type Result = httpload.Result

const request = `{"id":"bench","inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}`

func main() {
	model := flag.String("model", "components/serving/modelserver/testdata/xgboost/multi_softprob.json", "the XGBoost model served")
	clients := flag.Int("clients", 16, "concurrent keep-alive clients")
	duration := flag.Duration("duration", 10*time.Second, "how long each side is loaded")
	warmup := flag.Duration("warmup", time.Second, "load before measuring, per side")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *model, *clients, *duration, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, model string, clients int, duration, warmup time.Duration) error {
	m, err := modelserver.LoadXGBoost(model)
	if err != nil {
		return err
	}
	ms := modelserver.NewServer("iris")
	ms.SetModel(m)
	msURL, stop, err := listen(ms)
	if err != nil {
		return err
	}
	defer stop()
	url := msURL + "/v2/models/iris/infer"
	// the bare handler answers what the model server answers, so both write the same bytes
	body, err := post(http.DefaultClient, url)
	if err != nil {
		return fmt.Errorf("model server: %w", err)
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	bareURL, stopBare, err := listen(bare)
	if err != nil {
		return err
	}
	defer stopBare()
	fmt.Fprintf(out, "bench-serve: %d clients, %s per side (after %s warm-up), OIP v2 infer of one row, %s\n", clients, duration, warmup, model)
	b := load(ctx, "bare net/http", bareURL+"/v2/models/iris/infer", clients, duration, warmup)
	k := load(ctx, "kfup modelserver", url, clients, duration, warmup)
	fmt.Fprintf(out, "%-18s %12s %10s %10s %8s\n", "", "req/s", "p50", "p99", "errors")
	for _, r := range []Result{b, k} {
		fmt.Fprintf(out, "%-18s %12.0f %10s %10s %8d\n", r.Name, r.RPS(), r.P50, r.P99, r.Errors)
	}
	ratio := k.RPS() / b.RPS() * 100
	verdict := "meets"
	if ratio < 60 {
		verdict = "misses"
	}
	fmt.Fprintf(out, "kfup modelserver / bare handler throughput: %.0f %% (%s the target of >= 60 %%)\n", ratio, verdict)
	if k.Errors > 0 || b.Errors > 0 {
		return fmt.Errorf("%d model server and %d bare handler requests failed", k.Errors, b.Errors)
	}
	return nil
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func post(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Post(url, "application/json", bytes.NewReader([]byte(request)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return b, err
}

// load runs clients keep-alive clients posting the infer request to url for warmup,
// then measures for duration.
func load(ctx context.Context, name, url string, clients int, duration, warmup time.Duration) Result {
	return httpload.Load(ctx, name, func(c *http.Client) error { _, err := post(c, url); return err }, clients, duration, warmup)
}

package modelserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/errs"
)

// Options are the flags of `kfup modelserver`.
type Options struct {
	ModelName       string
	ModelDir        string
	HTTPPort        int
	GRPCPort        int
	MaxRequestBytes int64
	// Out receives the server's log lines.
	Out io.Writer
}

// NewCmd returns `kfup modelserver`; run serves the options (nil: Run), so tests check
// the flags without serving.
func NewCmd(run func(context.Context, *Options) error) *cobra.Command {
	if run == nil {
		run = Run
	}
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "modelserver",
		Short: "Serve an XGBoost model over the Open Inference Protocol v2 (REST and gRPC) and KServe v1",
		Long: `kfup modelserver serves one XGBoost model (JSON or UBJ, as booster.save_model
writes it) found in --model-dir, evaluated in Go: Open Inference Protocol v2 REST
(/v2/health/*, /v2/models/NAME[/versions/V][/ready|/infer]), KServe v1
(/v1/models/NAME:predict) and Prometheus metrics (/metrics) on --http-port, and the
Open Inference Protocol v2 over gRPC (inference.GRPCInferenceService) with gRPC health
checking on --grpc-port. It is ready once the model has loaded and shuts down gracefully
on SIGTERM.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return errs.Usage("see 'kfup modelserver --help'", "modelserver takes no arguments, got %q", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			o.Out = cmd.ErrOrStderr()
			return run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ModelName, "model-name", "", "the name clients call the model by (/v2/models/NAME); required")
	f.StringVar(&o.ModelDir, "model-dir", "/mnt/models", "the model file, or a directory holding one (.json or .ubj)")
	f.IntVar(&o.HTTPPort, "http-port", 8080, "the port of the REST APIs and /metrics")
	f.IntVar(&o.GRPCPort, "grpc-port", 8081, "the port of the gRPC API (inference.GRPCInferenceService, grpc.health.v1); 0 turns it off")
	f.Int64Var(&o.MaxRequestBytes, "max-request-bytes", DefaultMaxRequestBytes, "the largest request body accepted (413 beyond)")
	return cmd
}

// Validate reports bad flag values as usage errors.
func (o *Options) Validate() error {
	switch {
	case o.ModelName == "":
		return errs.Usage("pass --model-name, the name clients use in /v2/models/NAME", "--model-name is required")
	case strings.ContainsAny(o.ModelName, "/:?#% "):
		return errs.Usage("use letters, digits, '-', '_' and '.'", "--model-name %q cannot be used in a URL path", o.ModelName)
	case o.ModelDir == "":
		return errs.Usage("pass --model-dir, where the model file is", "--model-dir is empty")
	case o.HTTPPort < 1 || o.HTTPPort > 65535:
		return errs.Usage("pass a port from 1 to 65535", "--http-port %d is not a port", o.HTTPPort)
	case o.GRPCPort < 0 || o.GRPCPort > 65535:
		return errs.Usage("pass a port from 1 to 65535, or 0 for no gRPC", "--grpc-port %d is not a port", o.GRPCPort)
	case o.GRPCPort == o.HTTPPort:
		return errs.Usage("give gRPC a port of its own, such as --grpc-port 8081", "--grpc-port and --http-port are both %d", o.HTTPPort)
	case o.MaxRequestBytes < 1024:
		return errs.Usage("pass at least 1024", "--max-request-bytes %d is too small", o.MaxRequestBytes)
	}
	return nil
}

// FindModel returns the model file at path: path itself when it is a file, else the one
// .json or .ubj file in the directory (model.json or model.ubj when there are several).
func FindModel(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("find model: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", fmt.Errorf("find model: %w", err)
	}
	var found, other []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".json", ".ubj":
			found = append(found, e.Name())
		case ".bst", ".model", ".txt", ".onnx", ".pkl", ".joblib":
			other = append(other, e.Name())
		}
	}
	for _, pref := range []string{"model.json", "model.ubj"} {
		if slices.Contains(found, pref) {
			return filepath.Join(path, pref), nil
		}
	}
	switch len(found) {
	case 1:
		return filepath.Join(path, found[0]), nil
	case 0:
		if len(other) > 0 {
			return "", fmt.Errorf("find model: %s has %s but no XGBoost JSON or UBJ model; re-save it with booster.save_model(\"model.json\")", path, strings.Join(other, ", "))
		}
		return "", fmt.Errorf("find model: no .json or .ubj model in %s", path)
	}
	return "", fmt.Errorf("find model: %s has several models (%s); name one with --model-dir or call it model.json", path, strings.Join(found, ", "))
}

// Run serves the model until ctx ends: it listens at once (live, not ready), loads the
// model, then is ready.
func Run(ctx context.Context, o *Options) error {
	path, err := FindModel(o.ModelDir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(o.HTTPPort))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := NewServer(o.ModelName, WithMaxRequestBytes(o.MaxRequestBytes))
	grpcDone := make(chan error, 1)
	if o.GRPCPort > 0 {
		gln, err := net.Listen("tcp", ":"+strconv.Itoa(o.GRPCPort))
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for gRPC: %w", err)
		}
		g := s.GRPC()
		fmt.Fprintf(o.Out, "modelserver: gRPC listening on %s\n", gln.Addr())
		go func() {
			err := ServeGRPC(ctx, gln, g, 30*time.Second)
			if err != nil {
				cancel() // one API down takes the server down: the kubelet restarts it
			}
			grpcDone <- err
		}()
	} else {
		grpcDone <- nil
	}
	loadFailed := make(chan error, 1)
	go func() {
		start := time.Now()
		m, err := LoadXGBoost(path)
		if err != nil {
			loadFailed <- err
			cancel()
			return
		}
		s.SetModel(m)
		fmt.Fprintf(o.Out, "modelserver: model %q ready (%s, %s) in %s\n", o.ModelName, path, m.Objective(), time.Since(start).Round(time.Millisecond))
	}()
	fmt.Fprintf(o.Out, "modelserver: listening on %s\n", ln.Addr())
	err = Serve(ctx, ln, s, 30*time.Second)
	cancel()
	if gerr := <-grpcDone; err == nil {
		err = gerr
	}
	select {
	case lerr := <-loadFailed:
		return lerr
	default:
	}
	if err == nil {
		fmt.Fprintln(o.Out, "modelserver: stopped")
	}
	return err
}

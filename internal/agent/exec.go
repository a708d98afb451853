package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// ExecArgs is a parsed `kubectl exec POD [--container C|-c C] -- CMD...` command line.
type ExecArgs struct {
	Pod       string
	Container string
	Command   []string
}

// ParseKubectlExec parses the subset of kubectl's command line that kubexec.sh uses.
func ParseKubectlExec(args []string) (ExecArgs, error) {
	const usage = "usage: kubectl exec POD [--container C] -- COMMAND [ARG...] (kfup's exec client)"
	var a ExecArgs
	if len(args) == 0 || args[0] != "exec" {
		return a, errors.New(usage)
	}
	i := 1
	for ; i < len(args) && args[i] != "--"; i++ {
		switch arg := args[i]; {
		case arg == "--container" || arg == "-c":
			if i+1 >= len(args) {
				return a, errors.New(usage)
			}
			i++
			a.Container = args[i]
		case strings.HasPrefix(arg, "--container="):
			a.Container = strings.TrimPrefix(arg, "--container=")
		case arg == "-i" || arg == "--stdin" || arg == "-t" || arg == "--tty":
			// stdin is always streamed; no terminal is ever allocated
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf("unsupported flag %s; %s", arg, usage)
		default:
			if a.Pod != "" {
				return a, errors.New(usage)
			}
			a.Pod = arg
		}
	}
	if a.Pod == "" || i >= len(args)-1 {
		return a, errors.New(usage)
	}
	a.Command = args[i+1:]
	return a, nil
}

// InClusterNamespace is the namespace of the pod this runs in.
func InClusterNamespace() (string, error) {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ExecInPod runs a.Command in a pod of namespace ns over the exec subresource, streaming
// stdin, stdout and stderr, and returns the remote exit code. It speaks SPDY (a POST,
// authorised by "create" on pods/exec, the only verb the MPI launcher's Role grants, as
// upstream's); WebSocket exec is a GET that the API server also authorises as "get".
func ExecInPod(ctx context.Context, cfg *rest.Config, ns string, a ExecArgs, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 1, err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(a.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: a.Container, Command: a.Command, Stdin: stdin != nil, Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return 1, err
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	var ce exec.CodeExitError
	if errors.As(err, &ce) {
		return ce.Code, nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

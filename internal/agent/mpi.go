package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// HostfileHosts returns the host (pod) names of an MPI hostfile ("<host> slots=N" lines).
func HostfileHosts(r io.Reader) ([]string, error) {
	var hosts []string
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		hosts = append(hosts, f[0])
	}
	return hosts, s.Err()
}

// InstallExecClient copies the running kfup executable to dir/kubectl: invoked under that
// name, kfup answers `kubectl exec POD [--container C] -- CMD...` (ExecInPod), which is
// all mpirun's remote shell agent (kubexec.sh) needs.
func InstallExecClient(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	dst := filepath.Join(dir, "kubectl")
	out, err := os.OpenFile(dst+".tmp", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}

// WaitPodsRunning waits until every named pod of namespace ns is Running (MPI's launcher
// must not start mpirun before its workers are up).
func WaitPodsRunning(ctx context.Context, out io.Writer, cs kubernetes.Interface, ns string, pods []string, interval time.Duration) error {
	for {
		var waiting []string
		for _, name := range pods {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning {
				waiting = append(waiting, name)
			}
		}
		if len(waiting) == 0 {
			fmt.Fprintf(out, "all %d workers are running\n", len(pods))
			return nil
		}
		fmt.Fprintf(out, "waiting for %s\n", strings.Join(waiting, ", "))
		select {
		case <-ctx.Done():
			return fmt.Errorf("workers not running (%s): %w", strings.Join(waiting, ", "), ctx.Err())
		case <-time.After(interval):
		}
	}
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// testNamespace creates a namespace for t; when t fails, its nodes, pods, events and
// container logs are dumped under $ARTIFACTS/<test>/ before the namespace is deleted.
func testNamespace(t *testing.T) string {
	t.Helper()
	ns, err := clientset.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dir := filepath.Join(artifacts, sanitize(t.Name()))
			if err := dumpNamespace(dir, ns.Name); err != nil {
				t.Logf("dump namespace %s: %v", ns.Name, err)
			} else {
				t.Logf("dumped namespace %s to %s", ns.Name, dir)
			}
		}
		if !keep {
			_ = clientset.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	})
	return ns.Name
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitize(s string) string { return unsafe.ReplaceAllString(s, "_") }

func dumpNamespace(dir, ns string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, v any) {
		b, err := yaml.Marshal(v)
		if err != nil {
			b = []byte(err.Error())
		}
		_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if nodes, err := clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		write("nodes.yaml", nodes)
	}
	pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	write("pods.yaml", pods)
	if evs, err := clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		sort.Slice(evs.Items, func(i, j int) bool { return evs.Items[i].LastTimestamp.Before(&evs.Items[j].LastTimestamp) })
		f, _ := os.Create(filepath.Join(dir, "events.txt"))
		for _, e := range evs.Items {
			fmt.Fprintf(f, "%s %s %s/%s %s: %s\n", e.LastTimestamp.Format(time.RFC3339), e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
		f.Close()
	}
	for _, p := range pods.Items {
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			req := clientset.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name})
			rc, err := req.Stream(ctx)
			if err != nil {
				continue
			}
			f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%s.log", p.Name, c.Name)))
			_, _ = io.Copy(f, rc)
			rc.Close()
			f.Close()
		}
	}
	return nil
}

// collectKindLogs writes `kind export logs` of the cluster under $ARTIFACTS/<sub>.
func collectKindLogs(sub string) {
	dir := filepath.Join(artifacts, sub)
	if err := kindc.CollectLogs(clusterName, dir); err != nil {
		logf("kind export logs: %v", err)
		return
	}
	logf("kind logs exported to %s", dir)
}

//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfup/kfup/components/training/builders"
)

const pythonML = "kfup-offline/python-ml:bookworm"

// allReduce runs WORLD processes that all-reduce a tensor over gloo and check the sum.
const allReduce = `
import os, torch, torch.distributed as dist, torch.multiprocessing as mp
WORLD = 2
def work(rank):  # forked: a -c script cannot be pickled for spawn
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29511", rank=rank, world_size=WORLD)
    t = torch.tensor([float(rank + 1)] * 3)
    dist.all_reduce(t)
    assert t.tolist() == [3.0] * 3, t
    print(f"rank {rank}: {t.tolist()}", flush=True)
    dist.destroy_process_group()
mp.start_processes(work, nprocs=WORLD, join=True, start_method="fork")
print("ALLREDUCE-OK")
`

// A pod from the python-ml image runs a 2-process torch.distributed gloo all-reduce to
// completion on the kfup-created cluster.
func TestPythonMLGlooAllReduce(t *testing.T) {
	ns := testNamespace(t)
	pod := builders.MakePod("gloo", ns).Image(pythonML).
		Command("python3", "-c", allReduce).
		Resources("100m", "256Mi", "2Gi").Obj()
	logs := runPod(t, pod, 5*time.Minute)
	if !strings.Contains(logs, "ALLREDUCE-OK") {
		t.Fatalf("logs:\n%s", logs)
	}
	t.Logf("logs:\n%s", logs)
}

// runPod creates pod, waits up to timeout for it to end and returns its logs; it fails
// the test unless the pod succeeded.
func runPod(t *testing.T, pod *corev1.Pod, timeout time.Duration) string {
	t.Helper()
	ctx := context.Background()
	ns, name := pod.Namespace, pod.Name
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var phase corev1.PodPhase
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	if err != nil {
		t.Fatalf("pod %s (image %s) did not finish (phase %s): %v", name, pod.Spec.Containers[0].Image, phase, err)
	}
	logs, err := clientset.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if phase != corev1.PodSucceeded {
		t.Fatalf("pod %s: phase %s, logs:\n%s", name, phase, logs)
	}
	return string(logs)
}

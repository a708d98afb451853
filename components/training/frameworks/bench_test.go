package frameworks_test

import (
	"testing"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/components/training/frameworks/internal/fwtest"
	"github.com/kfup/kfup/components/training/frameworks/pytorch"
)

// BenchmarkDesiredPyTorchJob measures the engine's share of reconciling the bench job
// (1 master + 1 worker): all pods and services of a PyTorchJob from the API object.
func BenchmarkDesiredPyTorchJob(b *testing.B) {
	job := fwtest.Decode[trainingv1.PyTorchJob](b, `
metadata: {name: bench, namespace: ns, uid: u}
spec:
  pytorchReplicaSpecs:
    Master: {replicas: 1, restartPolicy: OnFailure, template: {spec: {containers: [{name: pytorch, image: i, command: [python3, train.py]}]}}}
    Worker: {replicas: 1, restartPolicy: OnFailure, template: {spec: {containers: [{name: pytorch, image: i, command: [python3, train.py]}]}}}`)
	fw := pytorch.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.Desired(fw, job, nil); err != nil {
			b.Fatal(err)
		}
	}
}

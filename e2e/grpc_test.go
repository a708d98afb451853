//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	pb "github.com/kfup/kfup/components/serving/modelserver/inferencepb"
)

// portForward forwards a local port to port of a Ready pod matching selector in ns, as
// kubectl port-forward does, until t ends, and returns the local address.
func portForward(t *testing.T, ns, selector string, port int) string {
	t.Helper()
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			pod = p
			break
		}
	}
	if pod == nil {
		t.Fatalf("no running pod %s in %s", selector, ns)
	}
	transport, upgrader, err := spdy.RoundTripperFor(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(restConfig.Host + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", ns, pod.Name))
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.New(dialer, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	t.Cleanup(func() { close(stop); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward to %s/%s:%d: %v", ns, pod.Name, port, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward to %s/%s:%d: not ready after 30s", ns, pod.Name, port)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("port-forward ports: %v %v", ports, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local)
}

// checkGRPCInfer calls the predictor's OIP v2 gRPC API (through a port-forward to its
// pod) with the trained rows and compares the answer with Python's predictions.
func checkGRPCInfer(t *testing.T, ns, isvcName string, want trained) {
	t.Helper()
	addr := portForward(t, ns, "serving.kserve.io/inferenceservice="+isvcName, 8081)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := pb.NewGRPCInferenceServiceClient(conn)
	if r, err := client.ModelReady(ctx, &pb.ModelReadyRequest{Name: isvcName}); err != nil || !r.GetReady() {
		t.Fatalf("gRPC ModelReady: %v %v", r, err)
	}
	var rows []float64
	for _, r := range want.Rows {
		rows = append(rows, r...)
	}
	resp, err := client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: isvcName, Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "input-0", Datatype: "FP64", Shape: []int64{int64(len(want.Rows)), int64(len(want.Rows[0]))},
		Contents: &pb.InferTensorContents{Fp64Contents: rows},
	}}})
	if err != nil {
		t.Fatalf("gRPC ModelInfer: %v", err)
	}
	var got []float64
	for _, v := range resp.GetOutputs()[0].GetContents().GetFp32Contents() {
		got = append(got, float64(v))
	}
	comparePredictions(t, "gRPC ModelInfer", got, want.Predictions)
	logf("gRPC ModelInfer through a port-forward: %d predictions match", len(got))
}

package dashboard

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podRow is one pod as the job, endpoint and run views list it.
type podRow struct {
	Name, Phase, Node, Reason, Role string
	Ready                           bool
	Restarts                        int32
	Containers                      []string
}

// podReason is why a pod is not simply running or done: the first container waiting
// (ImagePullBackOff, CrashLoopBackOff) or terminated abnormally (OOMKilled, Error), or
// the pod's own reason (Evicted).
func podReason(p *corev1.Pod) string {
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return w.Reason
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("%s (exit %d)", t.Reason, t.ExitCode)
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			return "OOMKilled (restarted)"
		}
	}
	return p.Status.Reason
}

func podRowOf(p *corev1.Pod, role string) podRow {
	r := podRow{Name: p.Name, Phase: string(p.Status.Phase), Node: p.Spec.NodeName, Reason: podReason(p), Role: role}
	if p.DeletionTimestamp != nil {
		r.Phase = "Terminating"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			r.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		r.Restarts += cs.RestartCount
	}
	for _, c := range p.Spec.Containers {
		r.Containers = append(r.Containers, c.Name)
	}
	return r
}

// pods lists the pods of the page's namespace matching labels, sorted by role then name;
// role names each pod's part (a replica type and index, a predictor), or drops it.
func (s *Server) pods(ctx context.Context, p *page, labels client.MatchingLabels, role func(*corev1.Pod) (string, bool)) []podRow {
	if p.unreachable() {
		return nil
	}
	var list corev1.PodList
	if err := s.client.List(ctx, &list, client.InNamespace(p.NS), labels); err != nil {
		p.problem(err, "list", "pods", "")
		return nil
	}
	out := make([]podRow, 0, len(list.Items))
	for i := range list.Items {
		if r, keep := role(&list.Items[i]); keep {
			out = append(out, podRowOf(&list.Items[i], r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// maxLogBytes bounds the log a view shows (its tail).
const maxLogBytes = 256 << 10

// podLogs writes the last lines of ?pod= (container ?container=) as text, when belongs
// says the pod is the object's: a typed endpoint for the object's own pods, never any
// pod's.
func (s *Server) podLogs(w http.ResponseWriter, r *http.Request, belongs func(*corev1.Pod) bool) {
	ns, name, container := r.PathValue("ns"), r.URL.Query().Get("pod"), r.URL.Query().Get("container")
	var pod corev1.Pod
	if err := s.client.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, &pod); err != nil {
		pr := problemOf(err, "get", "pods", ns, name)
		http.Error(w, pr.Text+" "+pr.Fix, http.StatusBadGateway)
		return
	}
	if !belongs(&pod) {
		http.Error(w, "pod "+name+" is not this object's", http.StatusNotFound)
		return
	}
	if s.clientset == nil {
		http.Error(w, "logs are not available (no clientset)", http.StatusNotImplemented)
		return
	}
	tail := int64(500)
	opts := &corev1.PodLogOptions{Container: container, TailLines: &tail, LimitBytes: new(int64(maxLogBytes))}
	if r.URL.Query().Get("previous") == "1" {
		opts.Previous = true
	}
	rc, err := s.clientset.CoreV1().Pods(ns).GetLogs(name, opts).Stream(r.Context())
	// an htmx fragment: the log, escaped, in a <pre>
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		pr := problemOf(err, "get", "pods/log", ns, name)
		if pr.Kind == "error" {
			pr.Text = "logs of " + name + ": " + err.Error()
		}
		fmt.Fprintf(w, "<p class=\"problem\">%s</p>", html.EscapeString(strings.TrimSpace(pr.Text+" "+pr.Fix)))
		return
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, maxLogBytes))
	if len(b) == 0 {
		b = []byte("(no output yet)")
	}
	fmt.Fprintf(w, "<pre class=\"log\" data-pod=\"%s\">%s</pre>", html.EscapeString(name), html.EscapeString(string(b)))
}

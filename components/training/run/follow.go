package run

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/internal/workspace"
)

// Exec runs command in a container of a pod, its standard output to stdout; a non-zero
// exit is an error.
type Exec func(ctx context.Context, ns, pod, container string, command []string, stdout io.Writer) error

// AgentBinary is kfup's path in its own image.
const AgentBinary = "/kfup"

// Follower follows a run's job to its end.
type Follower struct {
	C  client.Client
	CS kubernetes.Interface
	// Logs gets the replicas' logs, Status what happens to their pods (warnings,
	// terminations, outputs fetched).
	Logs, Status *Mux
	// Exec fetches outputs; nil: they are not fetched.
	Exec Exec
	// OutputDir is where the outputs go (kfup-runs/<run>).
	OutputDir string
	// Poll is how often the job, its pods and events are read.
	Poll time.Duration
	// Sleep waits d or until ctx ends (tests move a fake cluster on).
	Sleep func(ctx context.Context, d time.Duration) error
	// Drain bounds the wait for the last logs and outputs once the job finished.
	Drain time.Duration
}

// Failure is a replica whose framework container failed.
type Failure struct {
	Replica string `json:"replica"`
	// Container is set when a helper failed (kfup-unpack), not the framework container.
	Container string `json:"container,omitempty"`
	ExitCode  int32  `json:"exitCode"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

func (f Failure) String() string {
	s := fmt.Sprintf("replica %s exited with code %d", f.Replica, f.ExitCode)
	if f.Container != "" {
		s = fmt.Sprintf("replica %s: %s exited with code %d", f.Replica, f.Container, f.ExitCode)
	}
	if f.Reason != "" && f.Reason != "Error" {
		s += " (" + f.Reason + ")"
	}
	return s
}

// Outputs are the files fetched from one replica.
type Outputs struct {
	Replica string `json:"replica"`
	Dir     string `json:"dir"`
	Files   int    `json:"files"`
}

// Result is how a run ended.
type Result struct {
	State           trainingv1.JobConditionType
	Reason, Message string
	Failures        []Failure
	Outputs         []Outputs
}

// NoCommandError is a framework container that could not start its command: the image
// has no such program (a python-less image for a Python script).
type NoCommandError struct {
	Replica, Image, Message string
}

func (e *NoCommandError) Error() string {
	return fmt.Sprintf("replica %s: image %s cannot start the command: %s", e.Replica, e.Image, e.Message)
}

// podTrack is what the follower knows of one pod.
type podTrack struct {
	replica    string
	waiting    map[string]string // container → last reason printed
	logging    bool
	stopLog    context.CancelFunc // ends the log stream
	deleting   bool               // the pod was being deleted at the last look
	terminated bool
	fetching   bool
}

// noCommand says whether a container state means its command does not exist in the image.
func noCommand(reason, message string) bool {
	switch reason {
	case "StartError", "RunContainerError", "CreateContainerError", "ContainerCannotRun":
	default:
		return false
	}
	return strings.Contains(message, "executable file not found") || strings.Contains(message, "no such file or directory")
}

// Follow follows job (an object of NewJob's types, already created) until it succeeds or
// fails: each pod's framework-container log, prefixed by its replica, as the pods appear;
// Warning events of the job and its pods and container reasons (ImagePullBackOff,
// OOMKilled) as they happen; each pod's outputs fetched once its framework container
// has ended. It returns how the job ended; ctx's end stops it with ctx's error.
func (f *Follower) Follow(ctx context.Context, job client.Object) (*Result, error) {
	main := MainContainer(KindName(job))
	tracks := map[types.UID]*podTrack{}
	seenEvents := map[string]int32{}
	since := job.GetCreationTimestamp().Add(-time.Second)
	var wg sync.WaitGroup // log streams and output fetches
	var mu sync.Mutex
	res := &Result{}
	logCtx, stopLogs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLogs()
	var finished time.Time
	sleep := f.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for {
		if err := f.C.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%s %s/%s was deleted while it ran", KindName(job), job.GetNamespace(), job.GetName())
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("get %s %s: %w", KindName(job), job.GetName(), err)
		}
		var pods corev1.PodList
		if err := f.C.List(ctx, &pods, client.InNamespace(job.GetNamespace()), client.MatchingLabels{trainingv1.JobNameLabel: job.GetName()}); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("list pods of %s: %w", job.GetName(), err)
		}
		slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(ReplicaName(&a), ReplicaName(&b)) })
		names := map[string]string{job.GetName(): "job"}
		for i := range pods.Items {
			pod := &pods.Items[i]
			if !metav1.IsControlledBy(pod, job) {
				continue
			}
			t := tracks[pod.UID]
			if t == nil {
				t = &podTrack{replica: ReplicaName(pod), waiting: map[string]string{}}
				tracks[pod.UID] = t
			}
			names[pod.Name] = t.replica
			t.deleting = pod.DeletionTimestamp != nil
			if err := f.pod(logCtx, pod, KindName(job), main, t, &wg, &mu, res); err != nil {
				return nil, err
			}
		}
		f.events(ctx, job.GetNamespace(), names, since, seenEvents)
		st, reason, msg := State(StatusOf(job))
		if Finished(st) {
			if finished.IsZero() {
				finished = time.Now()
				res.State, res.Reason, res.Message = st, reason, msg
			}
			// replicas still ending when the job's state was decided (a worker after the
			// master) get their terminations reported and outputs fetched too
			if settled(pods.Items, job, main) || time.Since(finished) > drainOf(f) {
				// a pod being deleted (cleanPodPolicy: a master that ran on after a
				// worker failed) may take its grace period to stop: its log is not
				// waited for
				for _, t := range tracks {
					if t.deleting && t.stopLog != nil {
						t.stopLog()
					}
				}
				break
			}
		}
		if err := sleep(ctx, f.Poll); err != nil {
			return nil, err
		}
	}
	// the job is done: wait for the last log lines and the outputs, boundedly
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	drain := drainOf(f)
	select {
	case <-done:
	case <-time.After(drain):
		f.Status.Line("kfup", "gave up waiting for the last logs and outputs after %s", drain)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(res.Failures, func(a, b Failure) int { return strings.Compare(a.Replica, b.Replica) })
	slices.SortFunc(res.Outputs, func(a, b Outputs) int { return strings.Compare(a.Replica, b.Replica) })
	return res, nil
}

func drainOf(f *Follower) time.Duration {
	if f.Drain == 0 {
		return DefaultOutputWait + 10*time.Second
	}
	return f.Drain
}

// settled says whether no pod of job may still end on its own: each one's framework
// container has terminated, or the pod is finished or being deleted (cleanPodPolicy
// removes the pods that would run on, as MPI's idle workers).
func settled(pods []corev1.Pod, job client.Object, main string) bool {
	for i := range pods {
		p := &pods[i]
		if !metav1.IsControlledBy(p, job) || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ended := false
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == main && s.State.Terminated != nil {
				ended = true
			}
		}
		if !ended {
			return false
		}
	}
	return true
}

// pod reports what changed in one pod, starts its log stream and output fetch.
func (f *Follower) pod(ctx context.Context, pod *corev1.Pod, kind, main string, t *podTrack, wg *sync.WaitGroup, mu *sync.Mutex, res *Result) error {
	statuses := append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...)
	var mainStatus *corev1.ContainerStatus
	sidecarRunning := false
	for i := range statuses {
		s := &statuses[i]
		if s.Name == main {
			mainStatus = s
		}
		if s.Name == OutputsContainer && s.State.Running != nil {
			sidecarRunning = true
		}
		if w := s.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" && w.Reason != "ContainerCreating" {
			if t.waiting[s.Name] != w.Reason {
				t.waiting[s.Name] = w.Reason
				f.Status.Line(t.replica, "%s: %s %s", s.Name, w.Reason, w.Message)
			}
			if s.Name == main && noCommand(w.Reason, w.Message) {
				return &NoCommandError{Replica: t.replica, Image: s.Image, Message: w.Message}
			}
		}
		if term := s.State.Terminated; term != nil && s.Name == UnpackContainer && term.ExitCode != 0 && t.waiting[s.Name] != "failed" {
			t.waiting[s.Name] = "failed"
			f.Status.Line(t.replica, "%s failed (exit code %d): %s", s.Name, term.ExitCode, strings.TrimSpace(term.Message))
			mu.Lock()
			res.Failures = append(res.Failures, Failure{Replica: t.replica, Container: s.Name, ExitCode: term.ExitCode, Reason: term.Reason, Message: strings.TrimSpace(term.Message)})
			mu.Unlock()
		}
	}
	if mainStatus == nil {
		return nil
	}
	if term := mainStatus.State.Terminated; term != nil && noCommand(term.Reason, term.Message) {
		return &NoCommandError{Replica: t.replica, Image: mainStatus.Image, Message: term.Message}
	}
	if !t.logging && (mainStatus.State.Running != nil || mainStatus.State.Terminated != nil) {
		t.logging = true
		logCtx, stop := context.WithCancel(ctx)
		t.stopLog = stop
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.stream(logCtx, pod.Namespace, pod.Name, main, t.replica)
		}()
	}
	term := mainStatus.State.Terminated
	if term == nil {
		return nil
	}
	if !t.terminated {
		t.terminated = true
		if term.ExitCode == 0 {
			f.Status.Line(t.replica, "%s exited with code 0", main)
		} else {
			fl := Failure{Replica: t.replica, ExitCode: term.ExitCode, Reason: term.Reason, Message: strings.TrimSpace(term.Message)}
			f.Status.Line(t.replica, "%s exited with code %d (%s)", main, term.ExitCode, term.Reason)
			mu.Lock()
			res.Failures = append(res.Failures, fl)
			mu.Unlock()
		}
	}
	if f.Exec != nil && !t.fetching && sidecarRunning {
		t.fetching = true
		dest := f.OutputDir
		if !primary(pod, kind) {
			dest = filepath.Join(dest, t.replica)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.fetch(ctx, pod, dest)
			switch {
			case err != nil && (strings.Contains(err.Error(), "container not found") || f.sidecarEnded(ctx, pod)):
				// it held nothing: with no outputs the sidecar ends at once
			case err != nil:
				f.Status.Line(t.replica, "outputs not fetched: %v", err)
			case n > 0:
				f.Status.Line(t.replica, "%d output file(s) in %s", n, dest)
				mu.Lock()
				res.Outputs = append(res.Outputs, Outputs{Replica: t.replica, Dir: dest, Files: n})
				mu.Unlock()
			}
		}()
	}
	return nil
}

// primary says whether pod is the first replica of a job of kind, whose outputs go to
// the run's directory itself: the one labelled job-role=master (Master, Chief, or a TFJob's
// worker 0), MPI's launcher, or worker 0 of the kinds whose kfup run jobs have workers only.
func primary(pod *corev1.Pod, kind string) bool {
	t, i := pod.Labels[trainingv1.ReplicaTypeLabel], pod.Labels[trainingv1.ReplicaIndexLabel]
	switch {
	case pod.Labels[trainingv1.JobRoleLabel] == trainingv1.JobRoleMaster, t == "launcher":
		return true
	case kind == trainingv1.JAXJobKind || kind == trainingv1.PaddleJobKind:
		return t == "worker" && i == "0"
	}
	return false
}

// sidecarEnded says whether pod's outputs sidecar has terminated (or the pod is gone).
func (f *Follower) sidecarEnded(ctx context.Context, pod *corev1.Pod) bool {
	p := &corev1.Pod{}
	if err := f.C.Get(ctx, client.ObjectKeyFromObject(pod), p); err != nil {
		return apierrors.IsNotFound(err)
	}
	for _, s := range p.Status.InitContainerStatuses {
		if s.Name == OutputsContainer {
			return s.State.Terminated != nil
		}
	}
	return false
}

// stream copies a container's log, following it, prefixed with its replica.
func (f *Follower) stream(ctx context.Context, ns, pod, container, replica string) {
	rc, err := f.CS.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.Status.Line(replica, "no logs: %v", err)
		}
		return
	}
	defer rc.Close()
	w := f.Logs.Writer(replica)
	defer w.Close()
	_, _ = io.Copy(w, rc)
}

// fetch copies the outputs of pod's replica into dest, then lets its outputs sidecar
// end. It returns the number of files.
func (f *Follower) fetch(ctx context.Context, pod *corev1.Pod, dest string) (int, error) {
	var buf bytes.Buffer
	if err := f.Exec(ctx, pod.Namespace, pod.Name, OutputsContainer, []string{AgentBinary, "agent", "outputs", "--pack", "--dir", OutputDir}, &buf); err != nil {
		return 0, fmt.Errorf("pack: %w", err)
	}
	n := 0
	if buf.Len() > 0 {
		st, err := workspace.Extract(&buf, dest, "")
		if err != nil {
			return 0, fmt.Errorf("unpack into %s: %w", dest, err)
		}
		n = st.Files
	}
	if err := f.Exec(ctx, pod.Namespace, pod.Name, OutputsContainer, []string{AgentBinary, "agent", "outputs", "--release", "--state", StateDir}, io.Discard); err != nil {
		return n, fmt.Errorf("release: %w", err)
	}
	return n, nil
}

// events prints the Warning events of the objects in names (name → replica) that are
// new since the last call.
func (f *Follower) events(ctx context.Context, ns string, names map[string]string, since time.Time, seen map[string]int32) {
	list, err := f.CS.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return // events are a help, not the result
	}
	slices.SortFunc(list.Items, func(a, b corev1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
	for i := range list.Items {
		e := &list.Items[i]
		replica, ok := names[e.InvolvedObject.Name]
		if !ok || eventTime(e).Before(since) {
			continue
		}
		key := string(e.UID)
		if seen[key] >= max(e.Count, 1) && seen[key] != 0 {
			continue
		}
		seen[key] = max(e.Count, 1)
		f.Status.Line(replica, "Warning %s: %s", e.Reason, strings.TrimSpace(e.Message))
	}
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stop deletes a run's job at once (Ctrl-C): the job in the background, and its pods
// with a short grace period, so the outputs sidecar does not hold them; then waits up to
// wait for the job to be gone. Only pods the job controls are deleted.
func Stop(ctx context.Context, c client.Client, job client.Object, wait time.Duration) error {
	if err := c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s %s: %w", KindName(job), job.GetName(), err)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(job.GetNamespace()), client.MatchingLabels{trainingv1.JobNameLabel: job.GetName()}); err == nil {
		for i := range pods.Items {
			if p := &pods.Items[i]; metav1.IsControlledBy(p, job) {
				_ = c.Delete(ctx, p, client.GracePeriodSeconds(1), client.Preconditions{UID: &p.UID})
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(job), job)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%s %s is still being deleted", KindName(job), job.GetName())
		}
	}
}

// Logs prints the logs of every pod of job so far, prefixed by replica, in replica order.
func Logs(ctx context.Context, c client.Client, cs kubernetes.Interface, job client.Object, m *Mux) (int, error) {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(job.GetNamespace()), client.MatchingLabels{trainingv1.JobNameLabel: job.GetName()}); err != nil {
		return 0, err
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(ReplicaName(&a), ReplicaName(&b)) })
	main := MainContainer(KindName(job))
	n := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if !metav1.IsControlledBy(p, job) {
			continue
		}
		rc, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: main}).Stream(ctx)
		if err != nil {
			m.Line(ReplicaName(p), "no logs: %v", err)
			continue
		}
		w := m.Writer(ReplicaName(p))
		_, err = io.Copy(w, rc)
		rc.Close()
		w.Close()
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

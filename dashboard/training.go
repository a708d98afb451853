package dashboard

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/profiles"
)

// The training views serve every kind of the training slice the cluster has (TFJob,
// PyTorchJob, ...) alike: they share the kubeflow.org/v1 job status and name their
// replicas in spec.<kind>ReplicaSpecs, so a job is read as unstructured data and its
// status decoded into the slice's own JobStatus.
func (s *Server) trainingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ns/{ns}/training", s.trainingList)
	mux.HandleFunc("GET /ns/{ns}/training/{kind}/{name}", s.trainingJob)
	mux.HandleFunc("GET /ns/{ns}/training/{kind}/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		// the job's own pods only: those it controls
		k, ok := s.catalog(r.Context()).Find(profiles.Training, r.PathValue("kind"))
		if !ok {
			http.Error(w, "this cluster serves no training kind "+r.PathValue("kind"), http.StatusNotFound)
			return
		}
		job := &unstructured.Unstructured{}
		job.SetGroupVersionKind(k.GVK())
		if err := s.client.Get(r.Context(), client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}, job); err != nil {
			pr := problemOf(err, "get", k.ID(), r.PathValue("ns"), r.PathValue("name"))
			http.Error(w, pr.Text, http.StatusNotFound)
			return
		}
		s.podLogs(w, r, func(p *corev1.Pod) bool { return metav1.IsControlledBy(p, job) })
	})
}

// replicaRow is one replica type of a job: wanted and what its pods did.
type replicaRow struct {
	Type                      string
	Replicas                  int32
	Active, Succeeded, Failed int32
	RestartPolicy             string
}

// jobRow is one training job in the list.
type jobRow struct {
	Kind, Name, Href, State, Replicas, Duration string
	Created                                     time.Time
	Message                                     string
}

// conditionRow is one step of a conditions timeline.
type conditionRow struct {
	Type, Status, Reason, Message string
	Time                          time.Time
}

type jobDetail struct {
	Job        jobRow
	Replicas   []replicaRow
	Conditions []conditionRow
	Pods       []podRow
	Tabs       objectTabs
}

func jobStatus(o *unstructured.Unstructured) trainingv1.JobStatus {
	var st trainingv1.JobStatus
	if m, ok := o.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(m, &st)
	}
	return st
}

// jobReplicas reads spec.<kind>ReplicaSpecs (the one spec field so named) with the
// replica statuses.
func jobReplicas(o *unstructured.Unstructured, st trainingv1.JobStatus) []replicaRow {
	spec, _ := o.Object["spec"].(map[string]any)
	var out []replicaRow
	for key, v := range spec {
		if !strings.HasSuffix(key, "ReplicaSpecs") {
			continue
		}
		specs, _ := v.(map[string]any)
		for typ, rs := range specs {
			var r trainingv1.ReplicaSpec
			if m, ok := rs.(map[string]any); ok {
				_ = runtime.DefaultUnstructuredConverter.FromUnstructured(m, &r)
			}
			row := replicaRow{Type: typ, Replicas: 1, RestartPolicy: string(r.RestartPolicy)}
			if r.Replicas != nil {
				row.Replicas = *r.Replicas
			}
			if rst := st.ReplicaStatuses[trainingv1.ReplicaType(typ)]; rst != nil {
				row.Active, row.Succeeded, row.Failed = rst.Active, rst.Succeeded, rst.Failed
			}
			out = append(out, row)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

func (s *Server) jobRowOf(k Kind, o *unstructured.Unstructured) jobRow {
	st := jobStatus(o)
	row := jobRow{Kind: k.Kind, Name: o.GetName(), State: stateOf(o), Created: o.GetCreationTimestamp().Time}
	row.Href, _ = viewHref(k, o.GetNamespace(), o.GetName())
	var parts []string
	for _, r := range jobReplicas(o, st) {
		parts = append(parts, r.Type+" "+itoa(r.Active)+"/"+itoa(r.Replicas))
	}
	row.Replicas = strings.Join(parts, ", ")
	if st.StartTime != nil {
		end := s.now()
		if st.CompletionTime != nil {
			end = st.CompletionTime.Time
		}
		row.Duration = duration.HumanDuration(end.Sub(st.StartTime.Time))
	}
	for _, c := range st.Conditions {
		if string(c.Type) == row.State {
			row.Message = c.Message
		}
	}
	return row
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// trainingJobs lists the namespace's jobs of every installed training kind, newest
// first.
func (s *Server) trainingJobs(ctx context.Context, p *page) []jobRow {
	var out []jobRow
	for _, k := range s.catalog(ctx).Of(profiles.Training) {
		if p.unreachable() {
			break
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GVK().GroupVersion().WithKind(k.Kind + "List"))
		if err := s.client.List(ctx, list, client.InNamespace(p.NS)); err != nil {
			p.problem(err, "list", k.ID(), "")
			continue
		}
		for i := range list.Items {
			out = append(out, s.jobRowOf(k, &list.Items[i]))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

func (s *Server) trainingList(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, "Training jobs", "training")
	if !ok {
		return
	}
	var kinds []string
	for _, k := range s.catalog(r.Context()).Of(profiles.Training) {
		kinds = append(kinds, k.ID())
	}
	p.Live = strings.Join(append(kinds, "pods"), " ")
	p.Data = struct {
		Jobs  []jobRow
		Kinds []string
	}{s.trainingJobs(r.Context(), p), kinds}
	s.render(w, "training", p)
}

func (s *Server) trainingJob(w http.ResponseWriter, r *http.Request) {
	p, ok := s.newPage(w, r, r.PathValue("name"), "training")
	if !ok {
		return
	}
	ctx := r.Context()
	k, found := s.catalog(ctx).Find(profiles.Training, r.PathValue("kind"))
	if !found {
		http.Error(w, "this cluster serves no training kind "+r.PathValue("kind"), http.StatusNotFound)
		return
	}
	p.Live = k.ID() + " pods events"
	o := &unstructured.Unstructured{}
	o.SetGroupVersionKind(k.GVK())
	d := jobDetail{Job: jobRow{Kind: k.Kind, Name: r.PathValue("name")}}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: p.NS, Name: r.PathValue("name")}, o); err != nil {
		if apierrors.IsNotFound(err) {
			p.Problems = append(p.Problems, Problem{Kind: "error", Text: k.Kind + " " + r.PathValue("name") + " does not exist in namespace " + p.NS + " (deleted?)."})
		} else {
			p.problem(err, "get", k.ID(), r.PathValue("name"))
		}
		p.Data = d
		s.render(w, "job", p)
		return
	}
	st := jobStatus(o)
	d.Job = s.jobRowOf(k, o)
	d.Replicas = jobReplicas(o, st)
	for _, c := range st.Conditions {
		d.Conditions = append(d.Conditions, conditionRow{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Time: c.LastTransitionTime.Time})
	}
	sort.SliceStable(d.Conditions, func(i, j int) bool { return d.Conditions[i].Time.Before(d.Conditions[j].Time) })
	// the job's own pods: a job of another kind may have the same name
	d.Pods = s.pods(ctx, p, client.MatchingLabels{trainingv1.JobNameLabel: o.GetName()}, func(pod *corev1.Pod) (string, bool) {
		return pod.Labels[trainingv1.ReplicaTypeLabel] + "-" + pod.Labels[trainingv1.ReplicaIndexLabel], metav1.IsControlledBy(pod, o)
	})
	d.Tabs = s.tabs(ctx, p, o)
	p.Data = d
	s.render(w, "job", p)
}

package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/store"
	"github.com/kfup/kfup/profiles"
)

// The artifact types of the kfp SDK the viewers render (dsl.HTML, dsl.Markdown).
const (
	artifactHTML     = "system.HTML"
	artifactMarkdown = "system.Markdown"
)

// Bounds of what a viewer reads of one artifact.
const (
	maxMarkdownBytes = 1 << 20
	maxHTMLBytes     = 16 << 20
)

// htmlArtifactPolicy is the CSP of an HTML artifact's document, which the task panel
// frames: a sandbox without same-origin (an opaque origin: no cookie, no access to the
// dashboard's pages or API), its own inline scripts and styles (reports such as
// Plotly's embed theirs), images and fonts only as data: URLs, and no network at all,
// so a report can neither call the dashboard nor send what it shows anywhere.
const htmlArtifactPolicy = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; " +
	"style-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// markdown renders CommonMark with GitHub's tables, strikethrough, task lists and
// autolinks; raw HTML is left out and links to javascript: and the like are emptied
// (goldmark's defaults without html.WithUnsafe), so what a task wrote cannot script the
// page it is shown in.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// runArtifact serves the viewer of one HTML or Markdown output artifact of a run's task
// (?task=<id>&output=<name>&i=<index>): only an artifact the run's status names, read
// from kfup's artifact store. Markdown comes back as an HTML fragment for the task panel;
// HTML as a document for its sandboxed frame (htmlArtifactPolicy).
func (s *Server) runArtifact(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := s.getRun(ctx, r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		pr := problemOf(err, "get", s.catalog(ctx).ID(profiles.Pipelines, "PipelineRun"), r.PathValue("ns"), r.PathValue("name"))
		http.Error(w, pr.Text, http.StatusBadGateway)
		return
	}
	q := r.URL.Query()
	a, ok := taskArtifact(run, q.Get("task"), q.Get("output"), q.Get("i"))
	if !ok {
		http.Error(w, fmt.Sprintf("run %s has no output artifact %q (index %s) of task %q", run.Name, q.Get("output"), q.Get("i"), q.Get("task")), http.StatusNotFound)
		return
	}
	switch a.Type {
	case artifactMarkdown:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		b, err := s.readArtifact(ctx, a.URI, maxMarkdownBytes)
		if err != nil { // a fragment the panel shows in the artifact's place
			fmt.Fprintf(w, `<p class="bad">%s</p>`, html.EscapeString(err.Error()))
			return
		}
		var out bytes.Buffer
		if err := markdown.Convert(b, &out); err != nil {
			fmt.Fprintf(w, `<p class="bad">%s</p>`, html.EscapeString("render "+a.URI+": "+err.Error()))
			return
		}
		_, _ = w.Write(out.Bytes())
	case artifactHTML:
		b, err := s.readArtifact(ctx, a.URI, maxHTMLBytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", htmlArtifactPolicy)
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	default:
		http.Error(w, fmt.Sprintf("artifact %s is a %s: only %s and %s artifacts have a viewer", a.URI, a.Type, artifactHTML, artifactMarkdown), http.StatusBadRequest)
	}
}

// taskArtifact finds output artifact index i of output name of task id in run's status.
func taskArtifact(run *pipelinesv1alpha1.PipelineRun, id, name, i string) (pipelinesv1alpha1.Artifact, bool) {
	n, err := strconv.Atoi(i)
	if err != nil || n < 0 {
		return pipelinesv1alpha1.Artifact{}, false
	}
	for _, t := range run.Status.Tasks {
		if t.ID != id {
			continue
		}
		if list, ok := t.Artifacts[name]; ok && n < len(list.Artifacts) {
			return list.Artifacts[n], true
		}
	}
	return pipelinesv1alpha1.Artifact{}, false
}

// readArtifact reads uri from the artifact store, its errors said for the viewer.
func (s *Server) readArtifact(ctx context.Context, uri string, limit int64) ([]byte, error) {
	if s.artifacts == nil {
		return nil, fmt.Errorf("this dashboard cannot read the artifact store (%s)", uri)
	}
	b, err := s.artifacts.Read(ctx, uri, limit)
	return b, artifactError(uri, limit, err)
}

// readTaskLog reads a task's kept log (ReadTaskLog), its errors said as readArtifact's.
func (s *Server) readTaskLog(ctx context.Context, run *pipelinesv1alpha1.PipelineRun, taskID string) ([]byte, string, error) {
	if s.artifacts == nil {
		return nil, "", fmt.Errorf("this dashboard cannot read the artifact store")
	}
	b, uri, err := ReadTaskLog(ctx, s.artifacts, run, taskID)
	return b, uri, artifactError(uri, pipelinesv1alpha1.MaxTaskLogBytes, err)
}

// artifactError says a failed read of uri (nil for none) for the pages.
func artifactError(uri string, limit int64, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNotOurs):
		return fmt.Errorf("%s is not in kfup's pvc artifact store, which the dashboard reads: with the s3 store, read it with your S3 tools", uri)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("the artifact store has no file at %s: the task wrote none there (or a directory)", uri)
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("%s is over the viewer's %d KiB", uri, limit>>10)
	}
	return fmt.Errorf("read %s from the artifact store: %w", uri, err)
}

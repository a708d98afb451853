// Package dashboard is kfup's web dashboard (`kfup dashboard`): one server-rendered app
// (Go html/template, htmx for partial updates, server-sent events for live ones) over the
// Kubeflow APIs kfup serves — training jobs, Katib experiments, model endpoints and
// pipeline runs — acting with the user's kubeconfig credentials.
//
// What it shows follows what the cluster serves: the API slices of components/registry
// name their CRDs, the dashboard looks them up in the cluster (Catalog) and offers a view
// for each slice whose CRDs are there. It binds 127.0.0.1 only, refuses non-loopback Host
// headers, admits a browser by a one-time token exchanged for a cookie, checks writes for
// CSRF, sends a strict CSP and offers typed endpoints only (no generic API proxy, no
// exec). docs/dashboard.md describes the views and the security model.
package dashboard

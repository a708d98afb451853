package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeS3 is a path-style S3 endpoint with one bucket, "models"; with keyID set it
// answers 403 AccessDenied to requests not signed with that access key.
func fakeS3(t *testing.T, objects map[string]string, keyID string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(code int, c string) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, c, c)
		}
		if auth := r.Header.Get("Authorization"); keyID != "" && !strings.Contains(auth, "Credential="+keyID+"/") {
			fail(403, "AccessDenied")
			return
		}
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if bucket != "models" {
			fail(404, "NoSuchBucket")
			return
		}
		if key == "" && r.URL.Query().Get("list-type") == "2" {
			prefix := r.URL.Query().Get("prefix")
			var b strings.Builder
			n := 0
			for _, k := range keys(objects) {
				if strings.HasPrefix(k, prefix) {
					fmt.Fprintf(&b, "<Contents><Key>%s</Key><Size>%d</Size></Contents>", k, len(objects[k]))
					n++
				}
			}
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>models</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>%s</ListBucketResult>`, prefix, n, b.String())
			return
		}
		body, ok := objects[key]
		if !ok {
			fail(404, "NoSuchKey")
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestS3(t *testing.T) {
	objects := map[string]string{
		"sklearn/iris/model.joblib":  "joblib",
		"sklearn/iris/sub/meta.json": "{}",
		"sklearn/iris-v2/model.bin":  "other model",
		"sklearn/iris/":              "", // a console's "folder"
		"archive/model.tar.gz":       string(tgz(t, entry{"model.bst", "trees"})),
	}
	open := fakeS3(t, objects, "")
	locked := fakeS3(t, objects, "AKIAKFUPTEST")
	host := strings.TrimPrefix(open.URL, "http://")
	tests := []struct {
		name, uri string
		env       []string
		want      map[string]string
		err       string
	}{
		{name: "prefix, anonymous, AWS_ENDPOINT_URL", uri: "s3://models/sklearn/iris", env: []string{"AWS_ENDPOINT_URL", open.URL},
			want: map[string]string{"model.joblib": "joblib", "sub/meta.json": "{}"}},
		{name: "one object, S3_ENDPOINT without https", uri: "s3://models/sklearn/iris/model.joblib", env: []string{"S3_ENDPOINT", host, "S3_USE_HTTPS", "0"},
			want: map[string]string{"model.joblib": "joblib"}},
		{name: "archive unpacked", uri: "s3://models/archive/model.tar.gz", env: []string{"AWS_ENDPOINT_URL", open.URL},
			want: map[string]string{"model.bst": "trees"}},
		{name: "signed with the secret's key", uri: "s3://models/sklearn/iris-v2", env: []string{"AWS_ENDPOINT_URL", locked.URL, "AWS_ACCESS_KEY_ID", "AKIAKFUPTEST", "AWS_SECRET_ACCESS_KEY", "s3cr3t", "AWS_REGION", "eu-west-1"},
			want: map[string]string{"model.bin": "other model"}},
		{name: "wrong key", uri: "s3://models/sklearn/iris", env: []string{"AWS_ENDPOINT_URL", locked.URL, "AWS_ACCESS_KEY_ID", "AKIAWRONG", "AWS_SECRET_ACCESS_KEY", "x"},
			err: "s3://models/sklearn/iris: 403 AccessDenied at " + locked.URL + " with access key AKIA… from AWS_ACCESS_KEY_ID"},
		{name: "anonymous refused", uri: "s3://models/sklearn/iris", env: []string{"AWS_ENDPOINT_URL", locked.URL},
			err: "with anonymous (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set)"},
		{name: "no such bucket", uri: "s3://other/m", env: []string{"AWS_ENDPOINT_URL", open.URL},
			err: "s3://other/m: bucket other not found at " + open.URL},
		{name: "empty prefix", uri: "s3://models/xgboost/none", env: []string{"AWS_ENDPOINT_URL", open.URL},
			err: `no objects found under prefix "xgboost/none" in bucket models`},
		{name: "no bucket", uri: "s3:///m", err: "names no bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			err := Download(context.Background(), tt.uri, dest, Options{Getenv: env(tt.env...)})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("the secret is in the error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, tree(t, dest)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		u := closedURL(t)
		err := Download(context.Background(), "s3://models/m", t.TempDir(), Options{Getenv: env("AWS_ENDPOINT_URL", u)})
		if err == nil || !strings.Contains(err.Error(), "s3://models/m: cannot reach "+u) {
			t.Fatalf("err = %v", err)
		}
	})
}

// fakeGCS answers the JSON API's object listing (two objects a page) and alt=media for
// the public bucket "public"; bucket "private" is 403.
func fakeGCS(t *testing.T, objects map[string]string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/storage/v1/b/"), "/")
		switch {
		case p[0] == "private":
			http.Error(w, `{"error":{"code":403}}`, 403)
		case p[0] != "public":
			http.Error(w, `{"error":{"code":404}}`, 404)
		case len(p) == 2 && p[1] == "o":
			var names []string
			for _, k := range keys(objects) {
				if strings.HasPrefix(k, r.URL.Query().Get("prefix")) {
					names = append(names, k)
				}
			}
			start := 0
			fmt.Sscan(r.URL.Query().Get("pageToken"), &start)
			page := map[string]any{}
			var items []map[string]string
			for i := start; i < len(names) && i < start+2; i++ {
				items = append(items, map[string]string{"name": names[i]})
			}
			page["items"] = items
			if start+2 < len(names) {
				page["nextPageToken"] = fmt.Sprint(start + 2)
			}
			_ = json.NewEncoder(w).Encode(page)
		case len(p) == 3 && p[1] == "o" && r.URL.Query().Get("alt") == "media":
			name, _ := url.PathUnescape(p[2])
			b, ok := objects[name]
			if !ok {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, b)
		default:
			http.Error(w, "bad request "+r.URL.String(), 400)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestGCS(t *testing.T) {
	srv := fakeGCS(t, map[string]string{
		"models/sklearn/1.0/model/model.joblib": "joblib",
		"models/sklearn/1.0/model/a.txt":        "a",
		"models/sklearn/1.0/model/b/c.txt":      "c",
		"models/sklearn/1.0/model-2/x":          "x",
	})
	o := Options{Getenv: env("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))}
	tests := []struct {
		name, uri string
		want      map[string]string
		err       string
	}{
		{name: "prefix over pages", uri: "gs://public/models/sklearn/1.0/model",
			want: map[string]string{"model.joblib": "joblib", "a.txt": "a", "b/c.txt": "c"}},
		{name: "one object", uri: "gs://public/models/sklearn/1.0/model/b/c.txt", want: map[string]string{"c.txt": "c"}},
		{name: "empty prefix", uri: "gs://public/models/none", err: `gs://public/models/none: no objects found under prefix "models/none" in bucket public`},
		{name: "not public", uri: "gs://private/m", err: "gs://private/m: 403: the objects are not public; kfup reads gs:// anonymously"},
		{name: "no bucket", uri: "gs://nobucket/m", err: "gs://nobucket/m: bucket nobucket not found (404)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			err := Download(context.Background(), tt.uri, dest, o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, tree(t, dest)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
		})
	}
}

// fakeHub serves the model org/model (revisions main and v1) publicly and org/private
// to the token "hf_good" only, answering 401 otherwise, as the Hub does.
func fakeHub(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.Contains(p, "org/private") && r.Header.Get("Authorization") != "Bearer hf_good" {
			http.Error(w, `{"error":"Repository Not Found"}`, 401)
			return
		}
		switch {
		case p == "/api/models/org/model/revision/main", p == "/api/models/org/private/revision/main":
			fmt.Fprint(w, `{"sha":"abc","siblings":[{"rfilename":"config.json"},{"rfilename":"onnx/model.onnx"}]}`)
		case p == "/api/models/org/model/revision/v1":
			fmt.Fprint(w, `{"siblings":[{"rfilename":"config.json"}]}`)
		case p == "/api/models/org/evil/revision/main":
			fmt.Fprint(w, `{"siblings":[{"rfilename":"../../etc/x"}]}`)
		case strings.HasPrefix(p, "/org/model/resolve/"), strings.HasPrefix(p, "/org/private/resolve/"):
			rev, file, _ := strings.Cut(p[strings.Index(p, "/resolve/")+len("/resolve/"):], "/")
			fmt.Fprintf(w, "%s@%s", file, rev)
		default:
			http.Error(w, `{"error":"Revision Not Found"}`, 404)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestHF(t *testing.T) {
	srv := fakeHub(t)
	tests := []struct {
		name, uri, token string
		want             map[string]string
		err              string
	}{
		{name: "main", uri: "hf://org/model", want: map[string]string{"config.json": "config.json@main", "onnx/model.onnx": "onnx/model.onnx@main"}},
		{name: "revision", uri: "hf://org/model:v1", want: map[string]string{"config.json": "config.json@v1"}},
		{name: "private with token", uri: "hf://org/private", token: "hf_good", want: map[string]string{"config.json": "config.json@main", "onnx/model.onnx": "onnx/model.onnx@main"}},
		{name: "private without token", uri: "hf://org/private", err: "401 Unauthorized with no HF_TOKEN set"},
		{name: "private, bad token", uri: "hf://org/private", token: "hf_bad", err: "401 Unauthorized with the token in HF_TOKEN: the model is private, gated or does not exist"},
		{name: "no such revision", uri: "hf://org/model:nope", err: "model org/model at revision nope not found (404)"},
		{name: "file leaving the directory", uri: "hf://org/evil", err: "leaves the model directory"},
		{name: "bad uri", uri: "hf://justmodel", err: "use hf://<org>/<model>[:<revision>]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			err := Download(context.Background(), tt.uri, dest, Options{Getenv: env("HF_ENDPOINT", srv.URL, "HF_TOKEN", tt.token)})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("the token is in the error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, tree(t, dest)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
		})
	}
}

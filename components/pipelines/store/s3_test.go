package store

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeS3 is a path-style S3 endpoint with one bucket, "art", answering the calls the
// store makes: PutObject, GetObject, ListObjectsV2 (pageSize keys a page) and
// DeleteObjects. With keyID set it answers 403 AccessDenied to requests not signed with
// that access key; objects whose key holds "locked" cannot be deleted.
type fakeS3 struct {
	*httptest.Server
	keyID    string
	pageSize int

	mu      sync.Mutex
	objects map[string]string
	hashes  []string            // x-amz-content-sha256 of each PutObject
	deletes []int               // the keys of each DeleteObjects
	parts   map[string][]string // upload ID → its parts' bodies
	uploads map[string][]int    // key → the part sizes of its completed multipart upload
	aborted int
}

func newFakeS3(t *testing.T, keyID string) *fakeS3 {
	f := &fakeS3{keyID: keyID, pageSize: 1000, objects: map[string]string{}, parts: map[string][]string{}, uploads: map[string][]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, c string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, c, c)
	}
	if auth := r.Header.Get("Authorization"); f.keyID != "" && !strings.Contains(auth, "Credential="+f.keyID+"/") {
		fail(403, "AccessDenied")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != "art" {
		fail(404, "NoSuchBucket")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case key == "" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		f.list(w, q.Get("prefix"), q.Get("max-keys"), q.Get("continuation-token"))
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		var req struct {
			Objects []struct{ Key string } `xml:"Object"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(400, "MalformedXML")
			return
		}
		f.deletes = append(f.deletes, len(req.Objects))
		type result struct {
			Key     string `xml:"Key"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		var errs []result
		for _, o := range req.Objects {
			if strings.Contains(o.Key, "locked") {
				errs = append(errs, result{o.Key, "AccessDenied", "Access Denied"})
				continue
			}
			delete(f.objects, o.Key)
		}
		b, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"DeleteResult"`
			Errors  []result `xml:"Error"`
		}{Errors: errs})
		w.Write(b)
	case key != "" && r.Method == http.MethodPost && q.Has("uploads"):
		id := fmt.Sprintf("up-%d", len(f.parts)+1)
		f.parts[id] = nil
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>art</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>`, key, id)
	case key != "" && r.Method == http.MethodPut && q.Has("uploadId"):
		parts, ok := f.parts[q.Get("uploadId")]
		b, _ := io.ReadAll(r.Body)
		if !ok || q.Get("partNumber") != strconv.Itoa(len(parts)+1) || int64(len(b)) != r.ContentLength {
			fail(400, "InvalidPart")
			return
		}
		f.parts[q.Get("uploadId")] = append(parts, string(b))
		w.Header().Set("ETag", fmt.Sprintf(`"etag-%d"`, len(parts)+1))
	case key != "" && r.Method == http.MethodPost && q.Has("uploadId"):
		var req struct {
			Parts []struct {
				ETag       string
				PartNumber int
			} `xml:"Part"`
		}
		parts, ok := f.parts[q.Get("uploadId")]
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil || !ok || len(req.Parts) != len(parts) {
			fail(400, "InvalidPart")
			return
		}
		var sizes []int
		for i, p := range req.Parts {
			if p.PartNumber != i+1 || p.ETag != fmt.Sprintf(`"etag-%d"`, i+1) {
				fail(400, "InvalidPart")
				return
			}
			sizes = append(sizes, len(parts[i]))
		}
		f.objects[key] = strings.Join(parts, "")
		f.uploads[key] = sizes
		delete(f.parts, q.Get("uploadId"))
		fmt.Fprintf(w, `<CompleteMultipartUploadResult><Key>%s</Key><ETag>"x"</ETag></CompleteMultipartUploadResult>`, key)
	case key != "" && r.Method == http.MethodDelete && q.Has("uploadId"):
		delete(f.parts, q.Get("uploadId"))
		f.aborted++
		w.WriteHeader(http.StatusNoContent)
	case key != "" && r.Method == http.MethodPut:
		if r.ContentLength < 0 {
			fail(411, "MissingContentLength")
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			fail(400, "IncompleteBody")
			return
		}
		f.objects[key] = string(b)
		f.hashes = append(f.hashes, r.Header.Get("X-Amz-Content-Sha256"))
		w.Header().Set("ETag", `"x"`)
	case key != "" && r.Method == http.MethodGet:
		body, ok := f.objects[key]
		if !ok {
			fail(404, "NoSuchKey")
			return
		}
		io.WriteString(w, body)
	default:
		fail(400, "NotImplemented")
	}
}

func (f *fakeS3) list(w http.ResponseWriter, prefix, maxKeys, token string) {
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	n := f.pageSize
	if m, err := strconv.Atoi(maxKeys); err == nil && m < n {
		n = m
	}
	// The token is the last key of the page before, as S3's (opaque) tokens are: keys
	// deleted since do not shift the pages.
	if token != "" {
		i, _ := slices.BinarySearch(keys, token)
		for i < len(keys) && keys[i] <= token {
			i++
		}
		keys = keys[i:]
	}
	type content struct {
		Key  string `xml:"Key"`
		Size int    `xml:"Size"`
	}
	res := struct {
		XMLName               xml.Name  `xml:"ListBucketResult"`
		Name                  string    `xml:"Name"`
		Prefix                string    `xml:"Prefix"`
		KeyCount              int       `xml:"KeyCount"`
		IsTruncated           bool      `xml:"IsTruncated"`
		NextContinuationToken string    `xml:"NextContinuationToken,omitempty"`
		Contents              []content `xml:"Contents"`
	}{Name: "art", Prefix: prefix}
	for i, k := range keys {
		if i == n {
			res.IsTruncated = true
			res.NextContinuationToken = keys[i-1]
			break
		}
		res.Contents = append(res.Contents, content{k, len(f.objects[k])})
	}
	res.KeyCount = len(res.Contents)
	b, _ := xml.Marshal(res)
	w.Write(b)
}

// names is the fake's object names.
func (f *fakeS3) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []string
	for k := range f.objects {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func newS3(t *testing.T, cfg S3Config) Store {
	t.Helper()
	s, err := NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3(t *testing.T) {
	f := newFakeS3(t, "AKIAKFUPTEST")
	f.pageSize = 3 // list in pages
	s := newS3(t, S3Config{Bucket: "art", Prefix: "kfup/pipelines/", Endpoint: strings.TrimPrefix(f.URL, "http://"), Insecure: true,
		UsePathStyle: true, AccessKeyID: "AKIAKFUPTEST", SecretAccessKey: "s3cr3t", Region: "eu-west-1"})
	testStore(t, s)
	for _, n := range f.names() {
		if !strings.HasPrefix(n, "kfup/pipelines/ns1/run/") {
			t.Errorf("object %q is not under the prefix", n)
		}
	}
	if got := s.URI("ns1/run/a.txt"); got != "s3://art/kfup/pipelines/ns1/run/a.txt" {
		t.Errorf("URI = %q", got)
	}
}

func TestS3Put(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, "")
	s := newS3(t, S3Config{Bucket: "art", Endpoint: f.URL, UsePathStyle: true})
	// A stream of known length is sent unsigned, a seekable body (or a spooled one) is
	// hashed.
	if err := s.Put(ctx, "ns/stream", io.MultiReader(strings.NewReader("stream")), 6); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "ns/seek", strings.NewReader("seek"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "ns/spooled", io.MultiReader(strings.NewReader("spooled")), -1); err != nil {
		t.Fatal(err)
	}
	if f.hashes[0] != "UNSIGNED-PAYLOAD" || len(f.hashes[1]) != 64 || len(f.hashes[2]) != 64 {
		t.Errorf("payload hashes = %q, want UNSIGNED-PAYLOAD then two SHA-256s", f.hashes)
	}
	for k, want := range map[string]string{"ns/stream": "stream", "ns/seek": "seek", "ns/spooled": "spooled"} {
		if got := get(t, s, k); got != want {
			t.Errorf("Get(%q) = %q, want %q", k, got, want)
		}
	}
	wantErr(t, s.Put(ctx, "ns/huge", strings.NewReader(""), 6<<40), "put ns/huge: 6597069766656 bytes, more than S3's limit of 5497558138880 for one object")
	if len(f.uploads) != 0 {
		t.Errorf("multipart uploads for small bodies: %v", f.uploads)
	}
}

// TestS3Multipart puts bodies larger than one PutObject takes (made small here).
func TestS3Multipart(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, "")
	st := newS3(t, S3Config{Bucket: "art", Endpoint: f.URL, UsePathStyle: true})
	s := st.(*s3Store)
	s.maxPut, s.partSize = 10, 4
	body := "0123456789abcdefghij" // 20 bytes
	tests := []struct {
		name  string
		r     io.Reader
		size  int64
		parts []int
		want  string // the object; "" none
		err   string
	}{
		{name: "known size", r: strings.NewReader(body), size: 20, parts: []int{4, 4, 4, 4, 4}, want: body},
		{name: "unknown size", r: io.MultiReader(strings.NewReader(body)), size: -1, parts: []int{4, 4, 4, 4, 4}, want: body},
		{name: "unknown, one part", r: io.MultiReader(strings.NewReader("012")), size: -1, want: "012"},
		{name: "unknown, exactly one part", r: io.MultiReader(strings.NewReader("0123")), size: -1, want: "0123"},
		{name: "short", r: strings.NewReader(body), size: 30, err: "put ns/k: body ended after 20 of the 30 bytes announced"},
		{name: "long", r: strings.NewReader(body), size: 12, err: "put ns/k: body is longer than the 12 bytes announced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.uploads, f.aborted, f.objects = map[string][]int{}, 0, map[string]string{}
			f.mu.Unlock()
			err := s.Put(ctx, "ns/k", tt.r, tt.size)
			wantErr(t, err, tt.err)
			var want map[string][]int
			if tt.parts != nil {
				want = map[string][]int{"ns/k": tt.parts}
			}
			if d := cmp.Diff(want, f.uploads, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("completed uploads (-want +got):\n%s", d)
			}
			if tt.want == "" {
				if f.aborted != 1 || len(f.names()) != 0 {
					t.Errorf("a failed upload: %d aborted, objects %v", f.aborted, f.names())
				}
				return
			}
			if got := get(t, s, "ns/k"); got != tt.want {
				t.Errorf("object %q, want %q", got, tt.want)
			}
		})
	}
}

func TestS3Delete(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, "")
	f.pageSize = 1500 // more than one DeleteObjects can take
	for i := range 2500 {
		f.objects[fmt.Sprintf("p/ns/many/%04d", i)] = "x"
	}
	f.objects["p/ns/many"] = "the key itself"
	f.objects["p/ns/many/dir/"] = "" // a console's folder marker: not a key, still deleted
	f.objects["p/ns/many2/x"] = "sibling"
	f.objects["p/ns/man"] = "sibling"
	s := newS3(t, S3Config{Bucket: "art", Prefix: "p", Endpoint: f.URL, UsePathStyle: true})
	if n := len(list(t, s, "ns/many")); n != 2501 {
		t.Errorf("List = %d keys, want 2501 (no folder marker)", n)
	}
	if err := s.Delete(ctx, "ns/many"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"p/ns/man", "p/ns/many2/x"}, f.names()); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
	if slices.Max(f.deletes) > deleteBatch || len(f.deletes) < 4 {
		t.Errorf("DeleteObjects batches = %v, want at most %d keys each", f.deletes, deleteBatch)
	}

	f.objects["p/ns/l/locked"] = "x"
	f.objects["p/ns/l/free"] = "x"
	wantErr(t, s.Delete(ctx, "ns/l"), "delete ns/l: 1 of 2 objects not deleted, the first p/ns/l/locked: AccessDenied Access Denied")
}

func TestS3Errors(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, "AKIAKFUPTEST")
	f.objects["ns/a"] = "a"
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name string
		cfg  S3Config
		err  string
		is   error
	}{
		{name: "absent", cfg: S3Config{Bucket: "art", AccessKeyID: "AKIAKFUPTEST", SecretAccessKey: "s3cr3t"}, err: "get ns/b: artifact not found", is: ErrNotFound},
		{name: "no bucket", cfg: S3Config{Bucket: "other", AccessKeyID: "AKIAKFUPTEST", SecretAccessKey: "s3cr3t"}, err: "get ns/b: bucket other not found at " + f.URL},
		{name: "wrong key", cfg: S3Config{Bucket: "art", AccessKeyID: "AKIAWRONG", SecretAccessKey: "s3cr3t"}, err: "get ns/b: 403 AccessDenied at " + f.URL + " for bucket art with access key AKIA…"},
		{name: "anonymous", cfg: S3Config{Bucket: "art"}, err: "403 AccessDenied at " + f.URL + " for bucket art with anonymous credentials"},
		{name: "unreachable", cfg: S3Config{Bucket: "art", Endpoint: closed.URL}, err: "get ns/b: cannot reach " + closed.URL + ": dial tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Endpoint == "" {
				tt.cfg.Endpoint = f.URL
			}
			tt.cfg.UsePathStyle = true
			_, err := newS3(t, tt.cfg).Get(ctx, "ns/b")
			wantErr(t, err, tt.err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the secret is in the error: %v", err)
			}
		})
	}
}

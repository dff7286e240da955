package doctest

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []Block
		wantErr string
	}{
		{name: "OK", src: "# t\n\n<!-- doctest -->\n```sh\necho hi\n```\n\n```sh\nnot run\n```\n<!-- doctest -->\n\n~~~python\nprint(1)\n~~~\n",
			want: []Block{{Line: 4, Lang: "sh", Code: "echo hi\n"}, {Line: 13, Lang: "python", Code: "print(1)\n"}}},
		{name: "InfoStringAttributes", src: "<!-- doctest -->\n```js title=x\nrun()\n```\n",
			want: []Block{{Line: 2, Lang: "js", Code: "run()\n"}}},
		{name: "LongerFenceHoldsShorter", src: "<!-- doctest -->\n````sh\n```\ncat <<EOF\n````\n",
			want: []Block{{Line: 2, Lang: "sh", Code: "```\ncat <<EOF\n"}}},
		{name: "MarkerInsideBlockIgnored", src: "```md\n<!-- doctest -->\n```\n", want: nil},
		{name: "ErrMarkerWithoutFence", src: "<!-- doctest -->\ntext\n```sh\nx\n```\n", wantErr: "not followed"},
		{name: "ErrMarkerAtEnd", src: "<!-- doctest -->\n", wantErr: "not followed"},
		{name: "ErrLanguage", src: "<!-- doctest -->\n```ruby\nputs 1\n```\n", wantErr: "language"},
		{name: "ErrNoLanguage", src: "<!-- doctest -->\n```\nx\n```\n", wantErr: "language"},
		{name: "ErrUnclosed", src: "<!-- doctest -->\n```sh\nx\n", wantErr: "never closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract([]byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d blocks %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("block %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFailedBlock(t *testing.T) {
	out := []byte("x\n\x1edoctest-block 0 1000\x1e\nok\n\x1edoctest-block 2 1500\x1e\nboom\n")
	i, rest := failedBlock(out)
	if i != 2 || string(rest) != "boom\n" {
		t.Fatalf("got block %d output %q, want 2 %q", i, rest, "boom\n")
	}
	if i, _ := failedBlock([]byte("nothing")); i != -1 {
		t.Fatalf("got block %d for output without marks, want -1", i)
	}
	if got, want := blockTimes(append(out, "\x1edoctest-block done 1750\x1e\n"...)), "0: 500 ms, 2: 250 ms"; got != want {
		t.Fatalf("blockTimes = %q, want %q", got, want)
	}
}

// FuzzExtract: any document either yields blocks in a known language, in
// increasing line order, or an error; never a panic.
func FuzzExtract(f *testing.F) {
	f.Add("<!-- doctest -->\n```sh\necho hi\n```\n")
	f.Add("````\n<!-- doctest -->\n```go\n````\n")
	f.Fuzz(func(t *testing.T, src string) {
		blocks, err := Extract([]byte(src))
		if err != nil {
			return
		}
		last := 0
		for _, b := range blocks {
			if _, ok := Langs[b.Lang]; !ok || b.Line <= last {
				t.Fatalf("block %+v after line %d", b, last)
			}
			last = b.Line
		}
	})
}

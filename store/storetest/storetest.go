// Package storetest gives tests a fresh store per test on every backend:
// SQLite always, PostgreSQL when POLYPAY_TEST_POSTGRES names a server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/polypay/polypay/store"
)

// EnvPostgres names the PostgreSQL URL the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable
const EnvPostgres = "POLYPAY_TEST_POSTGRES"

// Backend is one store configuration for a test.
type Backend struct {
	Name        string
	DatabaseURL string // "" for SQLite
	DataDir     string
}

var skipOnce sync.Once

// Backends returns a fresh SQLite backend and, when configured, a fresh
// PostgreSQL schema; both are removed when the test ends.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "sqlite", DataDir: t.TempDir()}}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		skipOnce.Do(func() {
			t.Logf("PostgreSQL suite skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it", EnvPostgres)
		})
		return out
	}
	return append(out, Backend{Name: "postgres", DatabaseURL: FreshSchema(t, base), DataDir: t.TempDir()})
}

// FreshSchema creates an empty schema and returns base with its
// search_path; the schema is dropped at the end of the test.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens the backend's store, closed at the end of the test.
func (b Backend) Open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), b.DatabaseURL, b.DataDir)
	if err != nil {
		t.Fatalf("open %s: %v", b.Name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

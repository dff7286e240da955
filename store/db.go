// Package store keeps polypay's state in SQLite (embedded, the default) or
// PostgreSQL. Both run the same SQL; the few differences (placeholders, how
// writes are serialised) live in this file.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Dialect names the SQL backend.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

// DB is a polypay store.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: one connection owned by the batcher
	read    *sql.DB
	Now     func() time.Time

	batch     chan *writeReq
	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// OpenSQLite opens (creating if needed) the embedded store in dir.
// Durability stays on: WAL with synchronous=FULL, so a commit is on disk
// before anyone is told about it.
func OpenSQLite(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "polypay.db")
	if err := privateFiles(path, path+"-wal", path+"-shm", path+"-journal"); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8) // keep them: a new connection re-runs every pragma
	db := &DB{dialect: SQLite, write: w, read: r, Now: time.Now, done: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.batch = make(chan *writeReq, 1024)
	db.wg.Add(1)
	go db.batcher()
	return db, nil
}

// OpenPostgres opens a PostgreSQL store; several polypay nodes may share it.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(32)
	p.SetMaxIdleConns(32)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{dialect: Postgres, write: p, read: p, Now: time.Now, done: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Open picks the store from a database URL: "" means SQLite in dataDir.
func Open(ctx context.Context, databaseURL, dataDir string) (*DB, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return OpenPostgres(ctx, databaseURL)
	}
	if databaseURL != "" {
		return nil, fmt.Errorf("unsupported --database %q: want postgres://... or empty for the embedded store", redactURL(databaseURL))
	}
	return OpenSQLite(ctx, dataDir)
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// Dialect reports the backend.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close stops the writer after pending writes and closes the pools.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.done) })
	db.wg.Wait()
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (db *DB) now() int64 { return db.Now().Unix() }

// rebind turns ? placeholders into $n for PostgreSQL.
func (d Dialect) rebind(q string) string {
	if d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Tx is one unit of work: everything done through it commits or rolls back
// together.
type Tx struct {
	tx       *sql.Tx
	dialect  Dialect
	now      int64
	writable bool
}

// Now is the transaction's clock reading, in unix seconds.
func (tx *Tx) Now() int64 { return tx.now }

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.dialect.rebind(q), args...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.dialect.rebind(q), args...)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.dialect.rebind(q), args...)
}

// byteOrder makes an id column compare byte by byte: PostgreSQL's default
// collation would sort "a" before "B", breaking id-ordered pages.
func (tx *Tx) byteOrder(col string) string {
	if tx.dialect == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// forUpdate locks the selected rows on PostgreSQL in write transactions;
// SQLite's single writer already serialises every write transaction.
func (tx *Tx) forUpdate() string {
	if tx.dialect == Postgres && tx.writable {
		return " FOR UPDATE"
	}
	return ""
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	err  error
	done chan struct{}
}

// Write runs fn in a write transaction and returns after it is durably
// committed (or rolled back when fn fails). On SQLite, concurrent writes are
// grouped into one commit, each in its own savepoint, so one fsync serves
// many requests; a failing fn rolls back only its own savepoint. On
// PostgreSQL each call is its own transaction, retried on serialisation
// failures and deadlocks. fn may run more than once: it must not have effects
// outside tx.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	if db.dialect == Postgres {
		return db.writePG(ctx, fn)
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.batch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.done:
		return errors.New("store: closed")
	}
	// Wait for the outcome even if ctx ends: once queued, the write may
	// commit, and the caller must not report failure for a committed write.
	<-req.done
	return req.err
}

func (db *DB) writePG(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.runTx(ctx, fn)
		if err == nil || attempt >= 5 || !retryablePG(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func retryablePG(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (db *DB) runTx(ctx context.Context, fn func(*Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{tx: sqlTx, dialect: db.dialect, now: db.now(), writable: true}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	return sqlTx.Commit()
}

const maxBatch = 256

func (db *DB) batcher() {
	defer db.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-db.batch:
		case <-db.done:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-db.batch:
					db.commitBatch([]*writeReq{r})
				default:
					return
				}
			}
		}
		reqs := []*writeReq{first}
	collect:
		for len(reqs) < maxBatch {
			select {
			case r := <-db.batch:
				reqs = append(reqs, r)
			default:
				break collect
			}
		}
		db.commitBatch(reqs)
	}
}

func (db *DB) commitBatch(reqs []*writeReq) {
	finish := func(err error) {
		for _, r := range reqs {
			if r.err == nil {
				r.err = err
			}
			close(r.done)
		}
	}
	ctx := context.Background()
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		finish(err)
		return
	}
	tx := &Tx{tx: sqlTx, dialect: db.dialect, now: db.now(), writable: true}
	for _, r := range reqs {
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err()
			continue
		}
		if _, err := sqlTx.Exec("SAVEPOINT w"); err != nil {
			r.err = err
			continue
		}
		if err := r.fn(tx); err != nil {
			r.err = err
			if _, rbErr := sqlTx.Exec("ROLLBACK TO w"); rbErr != nil {
				sqlTx.Rollback()
				finish(fmt.Errorf("store: rollback to savepoint: %w", rbErr))
				return
			}
		}
		if _, err := sqlTx.Exec("RELEASE w"); err != nil {
			sqlTx.Rollback()
			finish(fmt.Errorf("store: release savepoint: %w", err))
			return
		}
	}
	finish(sqlTx.Commit())
}

// Read runs fn against a consistent snapshot of committed data.
func (db *DB) Read(ctx context.Context, fn func(*Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	return fn(&Tx{tx: sqlTx, dialect: db.dialect, now: db.now()})
}

func (db *DB) migrate(ctx context.Context) error {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return db.runTx(ctx, func(tx *Tx) error {
		if db.dialect == Postgres {
			// Several nodes may start at once: one migrates, the rest wait.
			if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(7263530)"); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rows, err := tx.query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		for _, name := range names {
			v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", name)
			}
			if applied[v] {
				continue
			}
			body, err := migrationFS.ReadFile("migrations/" + name)
			if err != nil {
				return err
			}
			for _, stmt := range splitSQL(string(body)) {
				if _, err := tx.exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", name, err)
				}
			}
			if _, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", v, tx.now); err != nil {
				return err
			}
		}
		return nil
	})
}

// MigrationVersion returns the highest applied migration.
func (db *DB) MigrationVersion(ctx context.Context) (int, error) {
	var v int
	err := db.Read(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	})
	return v, err
}

// splitSQL splits a migration file into statements, dropping comments.
func splitSQL(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	var out []string
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if strings.TrimSpace(stmt) != "" {
			out = append(out, strings.TrimSpace(stmt))
		}
	}
	return out
}

// Ping checks that the store answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// ErrNoRows is returned by single-row lookups that find nothing.
var ErrNoRows = sql.ErrNoRows

// IsUniqueViolation reports a unique-constraint failure on either backend.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// privateFiles makes the database owner-only (0600) before SQLite opens it:
// the main file is created here with that mode, SQLite gives its WAL and
// shared-memory files the main file's mode, and files left by a version
// that created them 0644 are narrowed.
func privateFiles(main string, others ...string) error {
	f, err := os.OpenFile(main, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range append([]string{main}, others...) {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

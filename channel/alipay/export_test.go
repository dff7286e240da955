package alipay

// SetLogPageSize makes Payouts ask for n rows a page, for tests of its
// paging; it returns the function restoring the size.
func SetLogPageSize(n int) (restore func()) {
	old := logPageSize
	logPageSize = n
	return func() { logPageSize = old }
}

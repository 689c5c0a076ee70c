export const USAGE = `Usage: sluice <METHOD> <path> [options]
       sluice mock [--port 8787] [--host 127.0.0.1]

Calls any endpoint of the API through the full sluice pipeline: the API key is exchanged for
short-lived tokens, requests are paced under the rate limit, 429s are retried when the server
says, and failures end with the exit codes below.

  sluice GET '/v2/event-details?ids=evt_1'
  sluice POST /v2/incidents/list --data '{"page_request":{"size":10}}'
  sluice POST /v2/incidents/list --data @filter.json --paginate > incidents.jsonl

Options:
  -d, --data <JSON|@file>  request body, JSON given inline or read from a file
      --paginate           for POST list endpoints: follow page_response.next_id to the last page and
                           print every item as one line of JSON
  -v, --verbose            print each request sent and the pipeline's events (token exchanges,
                           queue waits, retries) to stderr
      --base-url <url>     the tenant, like https://acme.cyberhaven.io (default: $SLUICE_BASE_URL)
      --key-stdin          read the API key from the first line of standard input
      --retries <n>        retries after a 429, 503 or network error, and of the token exchange (default 3)
      --max-wait <s>       longest wait for the rate limit before giving up with exit code 5 (default 120)
      --report <file>      write an HTML timeline of the run: requests against the limit, 429s, tokens,
                           pauses, the queue (best with --paginate; needs the package @sluice/report)
  -h, --help               this help

The API key comes from $SLUICE_API_KEY (or $CYBERHAVEN_API_KEY); without it, from a hidden prompt
when standard input is a terminal, or from standard input with --key-stdin. It is never taken as an
argument: arguments show in process lists and shell history. No output shows it.

Output: the response body. JSON is indented on a terminal and compact when piped.

Exit codes:
  0    success
  1    unexpected error
  2    usage: bad arguments, no key or base URL, --data not JSON
  3    authentication: 401 or 403 (key wrong, expired or revoked, or its role may not call this)
  4    client error: 404 or another 4xx
  5    rate limited: still 429 when the retry policy gave up, or a wait longer than --max-wait
  6    server error: 5xx, or an answer that cannot be used
  7    network error: no answer (connection refused or reset, DNS, TLS, timeout)
  130  interrupted (Ctrl-C)

Environment: SLUICE_API_KEY, CYBERHAVEN_API_KEY, SLUICE_BASE_URL, CYBERHAVEN_BASE_URL.
Nothing to call yet? \`sluice mock\` starts a local simulator of the API and prints how to use it.
`;

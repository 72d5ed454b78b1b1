using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using HttpCache.Commands;
using HttpCache.Engine.Policy;

namespace HttpCache
{
    /// <summary>
    /// What <c>-ExpireAfterScript</c> and <c>-StorePredicate</c> receive (as <c>$Response</c> and as their first
    /// argument): the origin's answer as the cache is about to judge it, without its body.
    /// </summary>
    public sealed class ResponseSummary
    {
        internal ResponseSummary(HttpResponseMessage response)
        {
            Method = response.RequestMessage?.Method.Method ?? string.Empty;
            Uri = response.RequestMessage?.RequestUri?.AbsoluteUri ?? string.Empty;
            StatusCode = (int)response.StatusCode;
            StatusDescription = response.ReasonPhrase ?? string.Empty;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, values) in response.Headers.NonValidated)
            {
                headers[name] = string.Join(", ", values);
            }

            if (response.Content is not null)
            {
                foreach (var (name, values) in response.Content.Headers.NonValidated)
                {
                    headers[name] = string.Join(", ", values);
                }

                ContentType = response.Content.Headers.ContentType?.MediaType;
                ContentLength = response.Content.Headers.ContentLength;
            }

            Headers = headers;
        }

        /// <summary>The request method.</summary>
        public string Method { get; }

        /// <summary>The URL that answered, as requested (secrets included: it is not stored).</summary>
        public string Uri { get; }

        /// <summary>The status code.</summary>
        public int StatusCode { get; }

        /// <summary>The reason phrase.</summary>
        public string StatusDescription { get; }

        /// <summary>Response and content headers by case-insensitive name, repeated values joined with ", ".</summary>
        public Dictionary<string, string> Headers { get; }

        /// <summary>The media type of the body (no parameters), or null.</summary>
        public string? ContentType { get; }

        /// <summary>The Content-Length, when the origin sent one.</summary>
        public long? ContentLength { get; }

        /// <inheritdoc />
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{StatusCode} {Method} {Uri}");
    }
}

namespace HttpCache.Commands
{
    /// <summary>
    /// Runs a session's script blocks (<c>-ExpireAfterScript</c>, <c>-StorePredicate</c>) for the engine, which
    /// calls them on thread-pool threads while the runspace that created the session may be busy or gone. The
    /// user's <see cref="ScriptBlock"/> is never invoked itself: its text runs in a runspace of the session's
    /// own (created on first use, opened once, used by one call at a time, disposed with the session), so it
    /// sees none of the caller's variables. A block that throws, writes an error, overruns
    /// <see cref="Timeout"/> or returns something unusable counts as "no opinion" for the expiration and "do not
    /// store" for the predicate; the problem is counted and kept on the session (ScriptErrors, LastScriptError).
    /// </summary>
    internal sealed class ScriptBlockCallbacks : IDisposable
    {
        /// <summary>How long one call may run before it is stopped and counted as failed.</summary>
        public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

        private readonly object gate = new();
        private readonly string? expireAfterText;
        private readonly string? predicateText;
        private readonly TimeZoneInfo timeZone;
        private readonly PSLanguageMode languageMode;
        private Runspace? runspace;
        private bool disposed;
        private long errorCount;
        private ErrorRecord? lastError;
        private ErrorRecord? firstError;
        private int warned;

        public ScriptBlockCallbacks(ScriptBlock? expireAfterScript, ScriptBlock? storePredicate, TimeZoneInfo timeZone, PSLanguageMode languageMode)
        {
            ExpireAfterScript = expireAfterScript;
            StorePredicate = storePredicate;
            // The text is all that crosses over: re-created in the session's runspace, never bound to the caller's.
            expireAfterText = expireAfterScript is null ? null : Recreate(expireAfterScript);
            predicateText = storePredicate is null ? null : Recreate(storePredicate);
            this.timeZone = timeZone;
            // A constrained caller must not get a full-language runspace through the cache.
            this.languageMode = languageMode;
        }

        /// <summary>The -ExpireAfterScript as given.</summary>
        public ScriptBlock? ExpireAfterScript { get; }

        /// <summary>The -StorePredicate as given.</summary>
        public ScriptBlock? StorePredicate { get; }

        /// <summary>The engine's ExpireAfterCallback, or null without -ExpireAfterScript.</summary>
        public Func<HttpResponseMessage, Expiration?>? ExpirationCallback => expireAfterText is null ? null : ComputeExpiration;

        /// <summary>The engine's StorePredicate, or null without -StorePredicate.</summary>
        public Func<HttpResponseMessage, bool>? PredicateCallback => predicateText is null ? null : Decide;

        /// <summary>How many calls failed (threw, wrote an error, overran, returned something unusable).</summary>
        public long ErrorCount => Interlocked.Read(ref errorCount);

        /// <summary>The latest failure, or null.</summary>
        public ErrorRecord? LastError => Volatile.Read(ref lastError);

        /// <summary>
        /// The warning for the session's first failure, once: the failures happen on the engine's threads,
        /// where nothing can be written, so the cmdlet whose request comes next says it. Later failures are
        /// only counted, so a block that fails on every answer does not drown the output.
        /// </summary>
        public string? TakeWarning()
        {
            if (Volatile.Read(ref firstError) is not { } first || Interlocked.Exchange(ref warned, 1) != 0)
            {
                return null;
            }

            var what = first.FullyQualifiedErrorId == ErrorIds.StorePredicateFailed ? "-StorePredicate" : "-ExpireAfterScript";
            var meaning = what == "-StorePredicate" ? "the answer was not stored" : "it counted as no opinion";
            return $"{first.Exception.Message} ({first.FullyQualifiedErrorId}; {meaning}.) A failing {what} is warned about once per session; the session's ScriptErrors counts every failure and LastScriptError holds the latest.";
        }

        private static string Recreate(ScriptBlock block) => ScriptBlock.Create(block.ToString()).ToString();

        private Expiration? ComputeExpiration(HttpResponseMessage response)
        {
            var summary = new ResponseSummary(response);
            if (!TryRun(expireAfterText!, summary, ErrorIds.ExpireAfterScriptFailed, "-ExpireAfterScript", out var output))
            {
                return null;
            }

            if (output.Count == 0)
            {
                return null; // no opinion: the next rule decides
            }

            if (output.Count > 1)
            {
                Fail(ErrorIds.ExpireAfterScriptFailed, summary, new InvalidOperationException(
                    $"-ExpireAfterScript returned {output.Count} values for {summary}; return one lifetime or $null."));
                return null;
            }

            if (SessionOptionParser.TryParseExpiration(output[0], timeZone, out var expiration, out var error))
            {
                return expiration;
            }

            Fail(ErrorIds.ExpireAfterScriptFailed, summary, new InvalidOperationException($"-ExpireAfterScript returned an unusable lifetime for {summary}: {error}"));
            return null;
        }

        private bool Decide(HttpResponseMessage response)
        {
            var summary = new ResponseSummary(response);
            if (!TryRun(predicateText!, summary, ErrorIds.StorePredicateFailed, "-StorePredicate", out var output))
            {
                return false;
            }

            if (output.Count == 1 && output[0] is bool answer)
            {
                return answer;
            }

            Fail(ErrorIds.StorePredicateFailed, summary, new InvalidOperationException(
                $"-StorePredicate returned {(output.Count == 1 ? $"'{output[0]}' ({output[0]?.GetType().Name ?? "null"})" : output.Count + " values")} for {summary}; return $true to store, $false not to. The answer was not stored."));
            return false;
        }

        /// <summary>Runs one script with the summary; false (and the failure recorded) when it did not run clean.</summary>
        private bool TryRun(string script, ResponseSummary summary, string errorId, string what, out List<object?> output)
        {
            output = [];
            lock (gate)
            {
                if (disposed)
                {
                    Fail(errorId, summary, new ObjectDisposedException(nameof(CacheSession), $"{what} was not run for {summary}: the session was disposed."));
                    return false;
                }

                PSDataCollection<PSObject> results;
                using var ps = PowerShell.Create();
                try
                {
                    runspace ??= Open();
                    runspace.SessionStateProxy.SetVariable("Response", summary);
                    ps.Runspace = runspace;
                    ps.AddScript(script, useLocalScope: true).AddArgument(summary);
                    var pending = ps.BeginInvoke();
                    if (!pending.AsyncWaitHandle.WaitOne(Timeout))
                    {
                        ps.Stop();
                        Fail(errorId, summary, new TimeoutException($"{what} ran past {Timeout.TotalSeconds:0} seconds for {summary} and was stopped."));
                        return false;
                    }

                    results = ps.EndInvoke(pending);
                }
                catch (RuntimeException ex)
                {
                    Fail(errorId, summary, new InvalidOperationException($"{what} failed for {summary}: {ex.Message}{Position(ex.ErrorRecord)}", ex));
                    return false;
                }
                catch (InvalidOperationException ex)
                {
                    Fail(errorId, summary, new InvalidOperationException($"{what} could not run for {summary}: {ex.Message}", ex));
                    return false;
                }

                if (ps.Streams.Error.Count > 0)
                {
                    var first = ps.Streams.Error[0];
                    Fail(errorId, summary, new InvalidOperationException($"{what} wrote an error for {summary}: {first}{Position(first)}", first.Exception));
                    return false;
                }

                foreach (var item in results)
                {
                    if (item?.BaseObject is { } value)
                    {
                        output.Add(value);
                    }
                }

                return true;
            }
        }

        private static string Position(ErrorRecord? record) =>
            record?.InvocationInfo?.PositionMessage is { Length: > 0 } position ? Environment.NewLine + position : string.Empty;

        private Runspace Open()
        {
            var state = InitialSessionState.CreateDefault2();
            state.LanguageMode = languageMode;
            var opened = RunspaceFactory.CreateRunspace(state);
            // Each call on a thread of its own, which ends with the call: never on the engine's thread (which may
            // be a busy pipeline's), and no long-lived foreground thread (ReuseThread's) that would keep the
            // process from exiting when a script never disposes its session.
            opened.ThreadOptions = PSThreadOptions.UseNewThread;
            opened.Open();
            return opened;
        }

        private void Fail(string errorId, ResponseSummary summary, Exception exception)
        {
            Interlocked.Increment(ref errorCount);
            var record = new ErrorRecord(exception, errorId, ErrorCategory.InvalidResult, summary);
            Interlocked.CompareExchange(ref firstError, record, null);
            Volatile.Write(ref lastError, record);
        }

        /// <summary>Closes the runspace; later calls count as failures.</summary>
        public void Dispose()
        {
            lock (gate)
            {
                disposed = true;
                runspace?.Dispose();
                runspace = null;
            }
        }
    }
}

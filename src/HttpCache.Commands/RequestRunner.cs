using System.Collections.Concurrent;
using System.Globalization;
using System.Management.Automation;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache.Commands;

/// <summary>
/// Sends the requests of Invoke-CachedWebRequest and Invoke-CachedRestMethod. Without -ThrottleLimit, each
/// pipeline item is sent in ProcessRecord and a failure is terminating, as Invoke-WebRequest's. With it, the
/// items are prepared in ProcessRecord and sent in EndProcessing through the engine's async API, at most
/// -ThrottleLimit at once (a <see cref="SemaphoreSlim"/>); a failed item is an error record of its own.
/// Either way, output, progress, verbose, warnings and errors are written only from the pipeline thread:
/// the workers hand their outcomes over through a queue.
/// </summary>
internal sealed class RequestRunner : IDisposable
{
    /// <summary>
    /// How much longer than -TimeoutSec the cmdlet's own deadline waits. The engine's timeout (applied inside
    /// the cache, so that it can fall back to a stale answer) covers the wait for the origin's answer; this
    /// later deadline bounds the whole exchange, the body included, without racing the engine's fallback.
    /// </summary>
    private static readonly TimeSpan DeadlineGrace = TimeSpan.FromSeconds(1);

    private const int ProgressActivityId = 0x4854; // 'HT'

    private readonly CachedRequestCommandBase cmdlet;
    private readonly EngineCall engine = new();
    private readonly List<PreparedRequest> pending = [];

    public RequestRunner(CachedRequestCommandBase cmdlet) => this.cmdlet = cmdlet;

    private bool IsBatch => cmdlet.MyInvocation.BoundParameters.ContainsKey(nameof(CachedRequestCommandBase.ThrottleLimit));

    /// <summary>ProcessRecord: sends now, or collects for the batch.</summary>
    public void Process()
    {
        var batch = IsBatch;
        var prepared = Prepare(batch);
        if (prepared is null)
        {
            return;
        }

        if (batch)
        {
            pending.Add(prepared);
            return;
        }

        using (prepared)
        {
            var outcome = engine.Run(token => SendAsync(prepared, cmdlet.TimeoutSec, token));
            Complete(outcome, batch: false);
        }
    }

    /// <summary>EndProcessing: runs the batch, if any.</summary>
    public void Finish()
    {
        if (IsBatch && pending.Count > 0)
        {
            RunBatch();
        }
    }

    public void Stop() => engine.Stop();

    public void Dispose()
    {
        foreach (var item in pending)
        {
            item.Dispose();
        }

        pending.Clear();
        engine.Dispose();
    }

    /// <summary>Checks the current pipeline item and builds its request; null when it failed (the error is reported).</summary>
    private PreparedRequest? Prepare(bool batch)
    {
        var uri = WebRequestBuilder.ParseUri(cmdlet.Uri, out var uriError);
        if (uri is null)
        {
            // Never reaches the engine: the cache keys only absolute http(s) URLs.
            Fail(Errors.InvalidUri(cmdlet.Uri, uriError), batch);
            return null;
        }

        HttpMethod method;
        try
        {
            method = new HttpMethod(cmdlet.Method.Trim().ToUpperInvariant());
        }
        catch (FormatException ex)
        {
            Fail(new ErrorRecord(new ArgumentException($"'{cmdlet.Method}' is not an HTTP method: {ex.Message}", ex), ErrorIds.InvalidMethod, ErrorCategory.InvalidArgument, cmdlet.Method), batch);
            return null;
        }

        var outFile = cmdlet.OutFile is null ? null : cmdlet.ResolveOutFile(cmdlet.OutFile);
        var session = Sessions.Resolve(cmdlet, cmdlet.Session);
        HttpRequestMessage request;
        try
        {
            request = WebRequestBuilder.Build(method, uri, cmdlet.Headers, cmdlet.Body, cmdlet.ContentType, cmdlet.UserAgent);
        }
        catch (ArgumentException ex)
        {
            Fail(new ErrorRecord(ex, ErrorIds.InvalidRequest, ErrorCategory.InvalidArgument, uri), batch);
            return null;
        }

        if (Errors.PastExpiration(cmdlet.ExpireAfter, session.Engine.Time.GetUtcNow()) is { } past)
        {
            request.Dispose();
            Fail(past, batch);
            return null;
        }

        var options = new CacheRequestOptions
        {
            ExpireAfter = cmdlet.ExpireAfter is Expiration expiration ? expiration : null,
            Mode = cmdlet.ParameterSetName switch
            {
                CachedRequestCommandBase.RefreshSet => CacheMode.Refresh,
                CachedRequestCommandBase.ForceRefreshSet => CacheMode.ForceRefresh,
                CachedRequestCommandBase.OnlyIfCachedSet => CacheMode.OnlyIfCached,
                _ => CacheMode.Default,
            },
            Timeout = cmdlet.TimeoutSec > 0 ? TimeSpan.FromSeconds(cmdlet.TimeoutSec) : null,
        };

        return new PreparedRequest(uri, session, request, options, outFile, streamToFile: outFile is not null && !cmdlet.PassThru);
    }

    /// <summary>
    /// Sends one request and reads its answer, on any thread. Failures become the error record the cmdlet
    /// reports; only a stop of the pipeline (<paramref name="stop"/>) escapes, as an OperationCanceledException.
    /// </summary>
    private static async Task<Outcome> SendAsync(PreparedRequest item, int timeoutSec, CancellationToken stop)
    {
        using var deadline = timeoutSec > 0 ? CancellationTokenSource.CreateLinkedTokenSource(stop) : null;
        deadline?.CancelAfter(TimeSpan.FromSeconds(timeoutSec) + DeadlineGrace);
        var token = deadline?.Token ?? stop;
        try
        {
            var completion = item.StreamToFile ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead;
            using var response = await item.Session.Engine.SendAsync(item.Request, item.Options, completion, token).ConfigureAwait(false);
            if (item.StreamToFile && response.IsSuccessStatusCode && response.Content is not null)
            {
                if (await StreamToFileAsync(item, response.Content, token).ConfigureAwait(false) is { } writeFailure)
                {
                    return new Outcome(item, null, writeFailure);
                }

                return new Outcome(item, new CachedResponse(response, [], response.GetCacheInfo(), item.Request.Method.Method, item.Uri.AbsoluteUri), null, WrittenToFile: true);
            }

            var body = response.Content is null ? [] : await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            return new Outcome(item, new CachedResponse(response, body, response.GetCacheInfo(), item.Request.Method.Method, item.Uri.AbsoluteUri), null);
        }
        catch (OperationCanceledException ex) when (!stop.IsCancellationRequested && deadline?.IsCancellationRequested == true)
        {
            return new Outcome(item, null, Timeout(item, timeoutSec, ex));
        }
        catch (TimeoutException ex) when (!stop.IsCancellationRequested)
        {
            // The engine's own timeout, with no stale answer to fall back to.
            return new Outcome(item, null, Timeout(item, timeoutSec, ex));
        }
        catch (HttpRequestException ex) when (!stop.IsCancellationRequested)
        {
            return new Outcome(item, null, new ErrorRecord(ex, ErrorIds.RequestFailed, ErrorCategory.ConnectionError, item.Uri));
        }
        catch (Exception ex) when (!stop.IsCancellationRequested && Errors.FromEngine(ex, item.Session) is { } record)
        {
            return new Outcome(item, null, record);
        }
    }

    /// <summary>Copies the body to -OutFile as it arrives; a failure to write the file is the error returned.</summary>
    private static async Task<ErrorRecord?> StreamToFileAsync(PreparedRequest item, HttpContent content, CancellationToken token)
    {
        var body = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            FileStream file;
            try
            {
                file = new FileStream(item.OutFile!, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
            {
                return new ErrorRecord(ex, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, item.OutFile);
            }

            await using (file.ConfigureAwait(false))
            {
                // Read errors (the origin dropping) surface as HttpIOException to the caller's handlers.
                await body.CopyToAsync(file, token).ConfigureAwait(false);
            }
        }

        return null;
    }

    private static ErrorRecord Timeout(PreparedRequest item, int timeoutSec, Exception inner) => new(
        new TimeoutException(string.Format(CultureInfo.InvariantCulture, "The request to '{0}' timed out after {1} seconds (-TimeoutSec).", item.Uri, timeoutSec), inner),
        ErrorIds.RequestTimeout,
        ErrorCategory.OperationTimeout,
        item.Uri);

    /// <summary>Fetches the collected requests, -ThrottleLimit at a time, writing each outcome as it arrives.</summary>
    private void RunBatch()
    {
        var items = pending.ToArray();
        var total = items.Length;
        var limit = cmdlet.ThrottleLimit;
        var timeoutSec = cmdlet.TimeoutSec;
        using var batchStop = CancellationTokenSource.CreateLinkedTokenSource(engine.Token);
        var token = batchStop.Token;
        using var gate = new SemaphoreSlim(limit, limit);
        using var outcomes = new BlockingCollection<Outcome>();

        var workers = items.Select(item => Task.Run(async () =>
        {
            Outcome outcome;
            try
            {
                await gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    outcome = await SendAsync(item, timeoutSec, token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return; // stopping: nobody reads any more
            }
            catch (Exception ex)
            {
                // Anything the request path did not expect is still this URI's failure alone.
                outcome = new Outcome(item, null, new ErrorRecord(ex, ErrorIds.RequestFailed, ErrorCategory.NotSpecified, item.Uri));
            }

            outcomes.Add(outcome, CancellationToken.None);
        }, CancellationToken.None)).ToArray();
        var allDone = Task.WhenAll(workers).ContinueWith(_ => outcomes.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        var activity = string.Format(CultureInfo.InvariantCulture, "Fetching {0} URLs through the cache, {1} at a time", total, limit);
        var done = 0;
        var failed = 0;
        try
        {
            cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, string.Format(CultureInfo.InvariantCulture, "0 of {0}", total)) { PercentComplete = 0 });
            foreach (var outcome in outcomes.GetConsumingEnumerable(token))
            {
                done++;
                using (outcome.Item)
                {
                    if (!Complete(outcome, batch: true))
                    {
                        failed++;
                    }
                }

                cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, string.Format(CultureInfo.InvariantCulture, "{0} of {1}{2}", done, total, failed > 0 ? $", {failed} failed" : string.Empty))
                {
                    PercentComplete = done * 100 / total,
                    CurrentOperation = outcome.Item.Uri.AbsoluteUri,
                });
            }

            cmdlet.WriteProgress(new ProgressRecord(ProgressActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Fetched {0} URLs ({1} failed) with -ThrottleLimit {2}.", total, failed, limit));
        }
        catch (OperationCanceledException) when (engine.IsStopping)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            // A stop, a downstream Select-Object -First, or -ErrorAction Stop: the requests still running end now.
            batchStop.Cancel();
            try
            {
                allDone.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
                // The workers catch everything; nothing to report here.
            }

            foreach (var item in items)
            {
                item.Dispose();
            }

            pending.Clear();
        }
    }

    /// <summary>Reports one outcome on the pipeline thread; false when it was a failure.</summary>
    private bool Complete(Outcome outcome, bool batch)
    {
        if (outcome.Item.Session.TakeScriptWarning() is { } scriptWarning)
        {
            cmdlet.WriteWarning(scriptWarning);
        }

        if (outcome.Error is { } error)
        {
            Fail(error, batch);
            return false;
        }

        var result = outcome.Response!;
        foreach (var (isWarning, message) in result.Diagnostics)
        {
            if (isWarning)
            {
                cmdlet.WriteWarning(message);
            }
            else
            {
                cmdlet.WriteVerbose(message);
            }
        }

        cmdlet.InvokeOnAnswer(result);
        if (result.StatusCode is < 200 or > 299 && !cmdlet.SkipHttpErrorCheck)
        {
            var record = new ErrorRecord(new CachedResponseException(result), ErrorIds.WebResponseError, ErrorCategory.InvalidOperation, outcome.Item.Uri);
            if (result.Content.Length > 0)
            {
                // As Invoke-WebRequest: the origin's own words are what the user sees.
                record.ErrorDetails = new ErrorDetails(result.Content);
            }

            Fail(record, batch);
            return false;
        }

        if (outcome.Item.OutFile is { } path)
        {
            try
            {
                if (!outcome.WrittenToFile)
                {
                    File.WriteAllBytes(path, result.Body);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
            {
                Fail(new ErrorRecord(ex, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, path), batch);
                return false;
            }

            if (!cmdlet.PassThru)
            {
                return true;
            }
        }

        cmdlet.InvokeWriteAnswer(result);
        return true;
    }

    /// <summary>One failure: the command's end without -ThrottleLimit (as Invoke-WebRequest), this URI's alone with it.</summary>
    private void Fail(ErrorRecord record, bool batch)
    {
        if (batch)
        {
            cmdlet.WriteError(record);
        }
        else
        {
            cmdlet.ThrowTerminatingError(record);
        }
    }

    /// <summary>A request ready to send, with everything the pipeline item said about it.</summary>
    private sealed class PreparedRequest(Uri uri, CacheSession session, HttpRequestMessage request, CacheRequestOptions options, string? outFile, bool streamToFile) : IDisposable
    {
        /// <summary>-OutFile without -PassThru: the body goes to the file as it arrives, never whole in memory.</summary>
        public bool StreamToFile { get; } = streamToFile;

        public Uri Uri { get; } = uri;

        public CacheSession Session { get; } = session;

        public HttpRequestMessage Request { get; } = request;

        public CacheRequestOptions Options { get; } = options;

        public string? OutFile { get; } = outFile;

        public void Dispose() => Request.Dispose();
    }

    /// <summary>How one request ended: an answer, or the error record to report.</summary>
    private sealed record Outcome(PreparedRequest Item, CachedResponse? Response, ErrorRecord? Error, bool WrittenToFile = false);
}

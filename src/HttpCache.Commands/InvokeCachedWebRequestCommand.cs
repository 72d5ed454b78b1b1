using System.Collections;
using System.Globalization;
using System.Management.Automation;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Sends an HTTP request through the cache: Invoke-WebRequest's core, answered from the store when the cache allows.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "CachedWebRequest", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(CachedResponse))]
public sealed class InvokeCachedWebRequestCommand : PSCmdlet, IDisposable
{
    private const string DefaultSet = "Default";
    private const string RefreshSet = "Refresh";
    private const string ForceRefreshSet = "ForceRefresh";
    private const string OnlyIfCachedSet = "OnlyIfCached";

    private readonly EngineCall engine = new();

    /// <summary>The absolute http or https URL.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Uri { get; set; } = string.Empty;

    /// <summary>The HTTP method (default GET).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string Method { get; set; } = "GET";

    /// <summary>Request headers, name to value (or values).</summary>
    [Parameter]
    public IDictionary? Headers { get; set; }

    /// <summary>The body: a string, bytes, or a dictionary sent as a form (application/x-www-form-urlencoded).</summary>
    [Parameter]
    public object? Body { get; set; }

    /// <summary>The body's Content-Type.</summary>
    [Parameter]
    public string? ContentType { get; set; }

    /// <summary>The User-Agent header.</summary>
    [Parameter]
    public string? UserAgent { get; set; }

    /// <summary>Seconds to wait for the whole answer; 0 (the default) waits as long as it takes.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Outputs answers with error statuses instead of failing, as Invoke-WebRequest.</summary>
    [Parameter]
    public SwitchParameter SkipHttpErrorCheck { get; set; }

    /// <summary>Writes the body to this file; nothing is output unless -PassThru.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutFile { get; set; }

    /// <summary>With -OutFile, outputs the answer too.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The session (default: the shared default session). Binds from a piped session or an object's Session property.</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public CacheSession? Session { get; set; }

    /// <summary>This request's lifetime, above the session's and below Cache-Control headers.</summary>
    [Parameter]
    [ExpirationTransformation]
    [ArgumentCompleter(typeof(ExpirationCompleter))]
    public object? ExpireAfter { get; set; }

    /// <summary>Revalidates a stored answer now (a conditional request when it has a validator).</summary>
    [Parameter(Mandatory = true, ParameterSetName = RefreshSet)]
    public SwitchParameter Refresh { get; set; }

    /// <summary>Fetches anew, ignoring what is stored; the answer is stored as usual.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForceRefreshSet)]
    public SwitchParameter ForceRefresh { get; set; }

    /// <summary>Never contacts the origin: a miss or a stale entry is answered 504 Not Cached.</summary>
    [Parameter(Mandatory = true, ParameterSetName = OnlyIfCachedSet)]
    public SwitchParameter OnlyIfCached { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var uri = WebRequestBuilder.ParseUri(Uri, out var uriError);
        if (uri is null)
        {
            // Never reaches the engine: the cache keys only absolute http(s) URLs.
            ThrowTerminatingError(Errors.InvalidUri(Uri, uriError));
            return;
        }

        HttpMethod method;
        try
        {
            method = new HttpMethod(Method.Trim().ToUpperInvariant());
        }
        catch (FormatException ex)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"'{Method}' is not an HTTP method: {ex.Message}", ex), ErrorIds.InvalidMethod, ErrorCategory.InvalidArgument, Method));
            return;
        }

        string? outFile = null;
        if (OutFile is not null)
        {
            outFile = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutFile);
        }

        var session = Sessions.Resolve(this, Session);
        HttpRequestMessage request;
        try
        {
            request = WebRequestBuilder.Build(method, uri, Headers, Body, ContentType, UserAgent);
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.InvalidRequest, ErrorCategory.InvalidArgument, uri));
            return;
        }

        var options = new CacheRequestOptions
        {
            ExpireAfter = ExpireAfter is Expiration expiration ? expiration : null,
            Mode = ParameterSetName switch
            {
                RefreshSet => CacheMode.Refresh,
                ForceRefreshSet => CacheMode.ForceRefresh,
                OnlyIfCachedSet => CacheMode.OnlyIfCached,
                _ => CacheMode.Default,
            },
        };

        using (request)
        {
            var result = Send(session, request, options, uri);
            Report(result);
            if (result.StatusCode is < 200 or > 299 && !SkipHttpErrorCheck)
            {
                var error = new ErrorRecord(new CachedResponseException(result), ErrorIds.WebResponseError, ErrorCategory.InvalidOperation, uri);
                if (result.Content.Length > 0)
                {
                    // As Invoke-WebRequest: the origin's own words are what the user sees.
                    error.ErrorDetails = new ErrorDetails(result.Content);
                }

                ThrowTerminatingError(error);
            }

            if (outFile is not null)
            {
                WriteOutFile(outFile, result);
                if (!PassThru)
                {
                    return;
                }
            }

            WriteObject(result);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();

    private CachedResponse Send(CacheSession session, HttpRequestMessage request, CacheRequestOptions options, System.Uri uri)
    {
        using var timeout = TimeoutSec > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(TimeoutSec)) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(engine.Token, timeout.Token);
        var token = linked?.Token ?? engine.Token;
        try
        {
            return engine.Run(async cancellation =>
            {
                using var response = await session.Engine.SendAsync(request, options, HttpCompletionOption.ResponseContentRead, cancellation).ConfigureAwait(false);
                var body = response.Content is null ? [] : await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
                return new CachedResponse(response, body, response.GetCacheInfo(), request.Method.Method, uri.AbsoluteUri);
            }, token);
        }
        catch (OperationCanceledException ex) when (timeout?.IsCancellationRequested == true)
        {
            ThrowTerminatingError(new ErrorRecord(
                new TimeoutException(string.Format(CultureInfo.InvariantCulture, "The request to '{0}' timed out after {1} seconds (-TimeoutSec).", uri, TimeoutSec), ex),
                ErrorIds.RequestTimeout,
                ErrorCategory.OperationTimeout,
                uri));
            throw; // not reached
        }
        catch (HttpRequestException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.RequestFailed, ErrorCategory.ConnectionError, uri));
            throw;
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
            throw;
        }
    }

    private void Report(CachedResponse result)
    {
        foreach (var (isWarning, message) in result.Diagnostics)
        {
            if (isWarning)
            {
                WriteWarning(message);
            }
            else
            {
                WriteVerbose(message);
            }
        }
    }

    private void WriteOutFile(string path, CachedResponse result)
    {
        try
        {
            File.WriteAllBytes(path, result.Body);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.OutFileWriteFailed, ErrorCategory.WriteError, path));
        }
    }
}

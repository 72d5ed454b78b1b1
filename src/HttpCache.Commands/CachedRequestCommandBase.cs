using System.Collections;
using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// What Invoke-CachedWebRequest and Invoke-CachedRestMethod share: Invoke-WebRequest's core parameters, the
/// cache's per-request options, and the request runner (<see cref="RequestRunner"/>). The derived cmdlets only
/// decide what an answer becomes in the pipeline.
/// </summary>
/// <remarks>
/// Public only because PowerShell reads a cmdlet's parameters from its whole class hierarchy; the constructor
/// is <c>private protected</c>, so nothing outside this assembly derives from it. Like every public type here, it
/// holds no engine struct or enum in a field: PowerShell lists the exported types before the engine can load
/// (CommandsAssemblyShapeTests).
/// </remarks>
public abstract class CachedRequestCommandBase : PSCmdlet, IDisposable
{
    internal const string DefaultSet = "Default";
    internal const string RefreshSet = "Refresh";
    internal const string ForceRefreshSet = "ForceRefresh";
    internal const string OnlyIfCachedSet = "OnlyIfCached";

    private RequestRunner? runner;

    private protected CachedRequestCommandBase()
    {
    }

    /// <summary>The absolute http or https URL.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CachedUriCompleter))]
    public string Uri { get; set; } = string.Empty;

    /// <summary>The HTTP method (default GET).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string Method { get; set; } = "GET";

    /// <summary>Request headers, name to value (or values).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public IDictionary? Headers { get; set; }

    /// <summary>The body: a string, bytes, or a dictionary sent as a form (application/x-www-form-urlencoded).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public object? Body { get; set; }

    /// <summary>The body's Content-Type.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ContentTypeCompleter))]
    public string? ContentType { get; set; }

    /// <summary>The User-Agent header.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? UserAgent { get; set; }

    /// <summary>
    /// Seconds the origin may take; 0 (the default) waits as long as it takes. The engine applies it inside the
    /// cache, so a timeout can still be answered by a stale entry (stale-if-error).
    /// </summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
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
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
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

    /// <summary>
    /// Collects every URI of the pipeline and fetches them this many at a time once the input ends (cache
    /// warming), with a progress bar; a URI that fails is an error record of its own and the others go on.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 256)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int ThrottleLimit { get; set; }

    /// <summary>True when -ThrottleLimit was given: URIs are collected and fetched concurrently at the end.</summary>
    private protected bool IsBatch => MyInvocation.BoundParameters.ContainsKey(nameof(ThrottleLimit));

    private RequestRunner Runner => runner ??= new RequestRunner(this);

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (IsBatch && OutFile is not null)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("-OutFile writes one answer to one file; it cannot be combined with -ThrottleLimit, which fetches many. Use -OutFile without -ThrottleLimit, once per URI."),
                ErrorIds.ConflictingParameters,
                ErrorCategory.InvalidArgument,
                OutFile));
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord() => Runner.Process();

    /// <inheritdoc />
    protected override void EndProcessing() => Runner.Finish();

    /// <inheritdoc />
    protected override void StopProcessing() => Runner.Stop();

    /// <inheritdoc />
    public void Dispose()
    {
        runner?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Called with every answer, before the status check (so also for error statuses).</summary>
    private protected virtual void OnAnswer(CachedResponse response)
    {
    }

    /// <summary>Writes an answer the checks let through to the pipeline, in the derived cmdlet's own form.</summary>
    private protected abstract void WriteAnswer(CachedResponse response);

    // The runner calls these: members of PSCmdlet it cannot reach itself.
    internal void InvokeOnAnswer(CachedResponse response) => OnAnswer(response);

    internal void InvokeWriteAnswer(CachedResponse response) => WriteAnswer(response);

    internal string ResolveOutFile(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}

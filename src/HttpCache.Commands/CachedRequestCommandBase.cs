using System.Collections;
using System.Management.Automation;
using System.Net.Sockets;
using System.Security;
using System.Security.Cryptography.X509Certificates;

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

    /// <summary>Deprecated in Invoke-WebRequest and without effect there; accepted so scripts bind unchanged.</summary>
    [Parameter(DontShow = true)]
    public SwitchParameter UseBasicParsing { get; set; } = true;

    /// <summary>The http or https URL; without a scheme, http:// is assumed (as Invoke-WebRequest).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CachedUriCompleter))]
    public string Uri { get; set; } = string.Empty;

    /// <summary>The HTTP version of the request (1.0, 1.1, 2, 3).</summary>
    [Parameter]
    [HttpVersionTransformation]
    [ArgumentCompleter(typeof(NoCompletion))]
    public Version? HttpVersion { get; set; }

    /// <summary>
    /// An Invoke-WebRequest session (Microsoft.PowerShell.Commands.WebRequestSession): its headers, cookies,
    /// credentials, certificates, proxy and limits are used, and its cookies filled, as Invoke-WebRequest does.
    /// </summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public object? WebSession { get; set; }

    /// <summary>A variable to receive a new WebRequestSession holding this call's settings and cookies.</summary>
    [Parameter]
    [Alias("SV")]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? SessionVariable { get; set; }

    /// <summary>Allows -Authentication, -Credential and -UseDefaultCredentials over plain http.</summary>
    [Parameter]
    public SwitchParameter AllowUnencryptedAuthentication { get; set; }

    /// <summary>Basic (with -Credential) or Bearer/OAuth (with -Token): sent as the Authorization header, keyed by digest.</summary>
    [Parameter]
    public WebAuthenticationType Authentication { get; set; } = WebAuthenticationType.None;

    /// <summary>Credentials: Basic with -Authentication Basic; otherwise answered to the origin's challenges.</summary>
    [Parameter]
    [Credential]
    [ArgumentCompleter(typeof(NoCompletion))]
    public PSCredential? Credential { get; set; }

    /// <summary>Answers the origin's challenges with the current user's credentials.</summary>
    [Parameter]
    public SwitchParameter UseDefaultCredentials { get; set; }

    /// <summary>The thumbprint of a client certificate in the current user's personal store.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? CertificateThumbprint { get; set; }

    /// <summary>A client certificate to offer the origin.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public X509Certificate? Certificate { get; set; }

    /// <summary>Accepts any server certificate (self-signed, expired, wrong name).</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>The TLS versions allowed.</summary>
    [Parameter]
    public WebSslProtocol SslProtocol { get; set; } = WebSslProtocol.Default;

    /// <summary>The token of -Authentication Bearer or OAuth.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public SecureString? Token { get; set; }

    /// <summary>The User-Agent header.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public string? UserAgent { get; set; }

    /// <summary>Sends Connection: close, so the connection is not kept for later requests.</summary>
    [Parameter]
    public SwitchParameter DisableKeepAlive { get; set; }

    /// <summary>
    /// Seconds the origin may take to answer; 0 (the default) waits as long as it takes. The engine applies it
    /// inside the cache, so a timeout can still be answered by a stale entry (stale-if-error).
    /// </summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateRange(0, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int ConnectionTimeoutSeconds { get; set; }

    /// <summary>Seconds reading the answer's body may take; 0 (the default): no limit.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int OperationTimeoutSeconds { get; set; }

    /// <summary>Request headers, name to value (or values).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public IDictionary? Headers { get; set; }

    /// <summary>Adds -Headers, -ContentType and -UserAgent without checking their format.</summary>
    [Parameter]
    public SwitchParameter SkipHeaderValidation { get; set; }

    /// <summary>Follows a redirect from https to http.</summary>
    [Parameter]
    public SwitchParameter AllowInsecureRedirect { get; set; }

    /// <summary>Redirects followed at most; 0 outputs the redirect itself.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int MaximumRedirection { get; set; } = -1;

    /// <summary>Retries after a 304, 4xx or 5xx answer; a stale-if-error answer comes only after the retries fail.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int MaximumRetryCount { get; set; }

    /// <summary>Keeps the Authorization header across redirects.</summary>
    [Parameter]
    public SwitchParameter PreserveAuthorizationOnRedirect { get; set; }

    /// <summary>Seconds between retries (default 5); a 429's Retry-After overrides it.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public int RetryIntervalSec { get; set; } = 5;

    /// <summary>The HTTP method (default GET): a standard one or any method token.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string Method { get; set; } = "GET";

    /// <summary>A method by name (Invoke-WebRequest's way to send a non-standard one); instead of -Method.</summary>
    [Parameter]
    [Alias("CM")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string? CustomMethod { get; set; }

    /// <summary>Keeps the method and body when a 301/302/303 redirect would turn them into a GET.</summary>
    [Parameter]
    public SwitchParameter PreserveHttpMethodOnRedirect { get; set; }

    /// <summary>Connects through this Unix domain socket.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NoCompletion))]
    public UnixDomainSocketEndPoint? UnixSocket { get; set; }

    /// <summary>Connects directly, ignoring the system proxy; not with -Proxy.</summary>
    [Parameter]
    public SwitchParameter NoProxy { get; set; }

    /// <summary>A proxy server to go through.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public System.Uri? Proxy { get; set; }

    /// <summary>Credentials for -Proxy.</summary>
    [Parameter]
    [Credential]
    [ArgumentCompleter(typeof(NoCompletion))]
    public PSCredential? ProxyCredential { get; set; }

    /// <summary>Gives -Proxy the current user's credentials.</summary>
    [Parameter]
    public SwitchParameter ProxyUseDefaultCredentials { get; set; }

    /// <summary>The body: a string, bytes, XML, a stream, or a dictionary (a form; the query string of a GET).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public object? Body { get; set; }

    /// <summary>A multipart/form-data upload: field name to value, file (FileInfo) or list of them.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NoCompletion))]
    public IDictionary? Form { get; set; }

    /// <summary>The body's Content-Type.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ContentTypeCompleter))]
    public string? ContentType { get; set; }

    /// <summary>Sends the body with this Transfer-Encoding (chunked).</summary>
    [Parameter]
    [ValidateSet("chunked", "compress", "deflate", "gzip", "identity", IgnoreCase = true)]
    public string? TransferEncoding { get; set; }

    /// <summary>Sends this file as the body.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? InFile { get; set; }

    /// <summary>Writes the body to this file; nothing is output unless -PassThru.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutFile { get; set; }

    /// <summary>With -OutFile, outputs the answer too.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>With -OutFile, asks only for the part of the file not yet downloaded and appends it.</summary>
    [Parameter]
    public SwitchParameter Resume { get; set; }

    /// <summary>Outputs answers with error statuses instead of failing, as Invoke-WebRequest.</summary>
    [Parameter]
    public SwitchParameter SkipHttpErrorCheck { get; set; }

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

    /// <summary>Called with every answer, before the status check; <paramref name="failing"/> when that check is about to fail it.</summary>
    private protected virtual void OnAnswer(CachedResponse response, bool failing)
    {
    }

    /// <summary>Writes an answer the checks let through to the pipeline, in the derived cmdlet's own form.</summary>
    private protected abstract void WriteAnswer(CachedResponse response);

    // The runner calls these: members of PSCmdlet it cannot reach itself.
    internal void InvokeOnAnswer(CachedResponse response, bool failing) => OnAnswer(response, failing);

    internal void InvokeWriteAnswer(CachedResponse response) => WriteAnswer(response);

    internal string ResolveOutFile(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    internal void SetVariable(string name, object? value) => SessionState.PSVariable.Set(name, value);

    /// <summary>How many pages -FollowRelLink fetches at most (1: only the one asked for).</summary>
    internal int RelLinksToFollow => FollowRelLinkPages;

    /// <summary>Invoke-CachedRestMethod's -FollowRelLink/-MaximumFollowRelLink; 1 for Invoke-CachedWebRequest.</summary>
    private protected virtual int FollowRelLinkPages => 1;
}

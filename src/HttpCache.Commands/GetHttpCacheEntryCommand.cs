using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Lists the responses a cache session holds.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HttpCacheEntry", DefaultParameterSetName = FilterSet)]
[OutputType(typeof(CacheEntry))]
public sealed class GetHttpCacheEntryCommand : PSCmdlet, IDisposable
{
    private const string FilterSet = "Filter";

    private readonly EngineCall engine = new();

    /// <summary>The session (default: the shared default session).</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>Only entries whose URL matches this wildcard pattern, case-insensitively.</summary>
    [Parameter(Position = 0, ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CachedUriCompleter))]
    public string? Uri { get; set; }

    /// <summary>Only the entry with this key.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CachedKeyCompleter))]
    public string? Key { get; set; }

    /// <summary>Only entries of these request methods.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HttpMethodCompleter))]
    public string[]? Method { get; set; }

    /// <summary>Only entries whose stored response has one of these status codes.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(100, 599)]
    [ArgumentCompleter(typeof(StatusCodeCompleter))]
    public int[]? StatusCode { get; set; }

    /// <summary>Only entries past their expiration.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    public SwitchParameter Expired { get; set; }

    /// <summary>Only entries stored longer ago than this: a TimeSpan, '1.00:00:00', or seconds.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [DurationTransformation]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Only entries stored within this long before now: a TimeSpan, '01:00:00', or seconds.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [DurationTransformation]
    [ArgumentCompleter(typeof(DurationCompleter))]
    public TimeSpan? NewerThan { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var session = Sessions.Resolve(this, Session);
        var filter = new EntryFilter(Uri, Key, Expired, OlderThan, NewerThan, Method, StatusCode);
        var found = false;
        try
        {
            foreach (var entry in filter.Select(session, engine))
            {
                found = true;
                WriteObject(entry);
            }
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
        }

        if (!found && filter.IsLiteral)
        {
            WriteError(Errors.EntryNotFound(filter.Describe(), (object?)Key ?? Uri!));
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();
}

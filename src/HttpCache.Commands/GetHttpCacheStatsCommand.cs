using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Reports a cache session's hits, misses and what its store holds.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HttpCacheStats", DefaultParameterSetName = SessionSet)]
[OutputType(typeof(CacheStats))]
public sealed class GetHttpCacheStatsCommand : PSCmdlet, IDisposable
{
    private const string SessionSet = "Session";

    private readonly EngineCall engine = new();

    /// <summary>The session (default: the shared default session).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = SessionSet)]
    public CacheSession? Session { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var session = Sessions.Resolve(this, Session);
        try
        {
            var statistics = engine.Run(token => session.Engine.GetStatisticsAsync(token));
            WriteObject(new CacheStats(session, statistics));
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();
}

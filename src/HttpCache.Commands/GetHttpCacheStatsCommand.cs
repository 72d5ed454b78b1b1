using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Reports a cache session's hits, misses, what its store holds, a health verdict and the size growth, or a table per host.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HttpCacheStats", DefaultParameterSetName = SessionSet)]
[OutputType(typeof(CacheStats), ParameterSetName = new[] { SessionSet })]
[OutputType(typeof(CacheHostStats), ParameterSetName = new[] { GroupBySet })]
public sealed class GetHttpCacheStatsCommand : PSCmdlet, IDisposable
{
    private const string SessionSet = "Session";
    private const string GroupBySet = "GroupBy";

    private readonly EngineCall engine = new();

    /// <summary>The session (default: the shared default session).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>Host: one row per host, from what the store holds for it (entries, bytes, hits from HitCount).</summary>
    [Parameter(Mandatory = true, ParameterSetName = GroupBySet)]
    [ValidateSet("Host")]
    public string? GroupBy { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var session = Sessions.Resolve(this, Session);
        try
        {
            if (ParameterSetName == GroupBySet)
            {
                WriteByHost(session);
                return;
            }

            var statistics = engine.Run(token => session.Engine.GetStatisticsAsync(token));
            if (statistics.Unsaved is { } why)
            {
                WriteWarning($"This session's latest figures could not be saved in the store ({why}); they are included here, and saved once the store can be written.");
            }

            var now = session.Engine.Time.GetUtcNow();
            var (growth, change) = GrowthHistory.Record(session, now, statistics.Inventory.Bytes);
            WriteObject(new CacheStats(session, statistics, now, growth, change));
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

    private void WriteByHost(CacheSession session)
    {
        foreach (var host in engine.Run(token => session.Engine.GetHostInventoryAsync(token)))
        {
            WriteObject(new CacheHostStats(session, host));
        }
    }
}

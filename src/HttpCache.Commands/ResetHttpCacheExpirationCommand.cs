using System.Management.Automation;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Gives stored responses a new expiration, counted from now.</para>
/// </summary>
[Cmdlet(VerbsCommon.Reset, "HttpCacheExpiration", DefaultParameterSetName = SessionSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CacheEntry))]
public sealed class ResetHttpCacheExpirationCommand : PSCmdlet, IDisposable
{
    private const string SessionSet = "Session";
    private const string InputObjectSet = "InputObject";
    private const string ResetAction = "Reset expiration to {0}";
    private const int ProgressActivityId = 0x4856;

    private readonly EngineCall engine = new();

    /// <summary>The new lifetime, from now: seconds, '00:05:00', a TimeSpan, a DateTime, NeverExpire or ExpireImmediately.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ExpirationTransformation]
    [ArgumentCompleter(typeof(ExpirationCompleter))]
    public object? ExpireAfter { get; set; }

    /// <summary>Entries to reset, usually piped from Get-HttpCacheEntry. Without them, every entry of the session.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NoCompletion))]
    public CacheEntry[]? InputObject { get; set; }

    /// <summary>The session whose entries are all reset (default: the shared default session).</summary>
    [Parameter(ParameterSetName = SessionSet)]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>Outputs each entry as it is after the reset.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (Lifetime.IsDoNotCache)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("DoNotCache cannot be applied to stored entries; remove them with Remove-HttpCacheEntry instead."),
                ErrorIds.InvalidExpiration,
                ErrorCategory.InvalidArgument,
                ExpireAfter));
        }

        if (Errors.PastExpiration(ExpireAfter, TimeProvider.System.GetUtcNow()) is { } past)
        {
            ThrowTerminatingError(past);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var entry in InputObject ?? [])
            {
                ResetOne(entry, reportMissing: true);
            }

            return;
        }

        var session = Sessions.Resolve(this, Session);
        List<CacheEntry> entries;
        try
        {
            entries = new EntryFilter().Select(session, engine).ToList();
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            ThrowTerminatingError(record);
            return;
        }

        var progress = new BulkProgress(this, ProgressActivityId, "Resetting cache expirations", entries.Count);
        foreach (var entry in entries)
        {
            ResetOne(entry, reportMissing: false);
            progress.Step(entry.Uri);
        }

        progress.Complete();
    }

    /// <inheritdoc />
    protected override void StopProcessing() => engine.Stop();

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();

    // A property, not a field: PowerShell lists this assembly's exported types before the module's
    // initializer can point the runtime at the engine, and a field of an engine value type would make
    // that listing load the engine (FileNotFoundException at Import-Module).
    private Expiration Lifetime => ExpireAfter is Expiration given ? given : Expiration.NeverExpire;

    private void ResetOne(CacheEntry entry, bool reportMissing)
    {
        var expiration = Lifetime;
        if (!ShouldProcess($"{entry.Method} {entry.Uri} (key {entry.Key}, session '{entry.Session.Name}')", string.Format(System.Globalization.CultureInfo.InvariantCulture, ResetAction, expiration)))
        {
            return;
        }

        var session = entry.Session;
        if (session.IsDisposed)
        {
            WriteError(Errors.SessionDisposed(session));
            return;
        }

        bool updated;
        try
        {
            updated = engine.Run(token => session.Engine.ResetExpirationAsync(entry.Key, expiration, token));
        }
        catch (Exception ex) when (Errors.FromEngine(ex, session) is { } record)
        {
            WriteError(record);
            return;
        }

        if (!updated)
        {
            if (reportMissing)
            {
                WriteError(Errors.EntryNotFound($"the key '{entry.Key}' ({entry.Uri}) in session '{session.Name}'", entry));
            }

            return;
        }

        WriteVerbose($"{entry.Method} {entry.Uri}: expiration reset to {expiration}.");
        if (PassThru)
        {
            foreach (var record in engine.Enumerate(token => session.Engine.GetEntriesAsync(new CacheQuery { Key = entry.Key }, token)))
            {
                WriteObject(new CacheEntry(record, session));
            }
        }
    }
}

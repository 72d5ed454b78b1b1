using HttpCache.Engine;

namespace HttpCache;

/// <summary>
/// A cache in use, as PowerShell sees it: the settings and where the store lives. Made by
/// New-HttpCacheSession; every cmdlet takes one through <c>-Session</c> (the shared default session when
/// none is given). Dispose it (<c>$session.Dispose()</c>) to flush its counters and close its store.
/// </summary>
public sealed class CacheSession : IDisposable
{
    internal CacheSession(HttpCacheSession engine, bool isDefault = false)
    {
        Engine = engine;
        IsDefault = isDefault;
        var settings = engine.Settings;
        Name = engine.Name;
        Backend = engine.Store.BackendName;
        Location = engine.Store.Location;
        ExpireAfter = settings.ExpireAfter.ToString();
        CacheControl = settings.CacheControl;
        AllowedMethods = settings.AllowedMethods.OrderBy(m => m, StringComparer.OrdinalIgnoreCase).ToArray();
        AllowedStatusCodes = settings.AllowedStatusCodes.OrderBy(s => s).ToArray();
        CreatedAt = engine.CreatedAt.LocalDateTime;
    }

    /// <summary>The session's name.</summary>
    public string Name { get; }

    /// <summary>The store's backend: Sqlite or Memory.</summary>
    public string Backend { get; }

    /// <summary>Where the store keeps its data (the SQLite file's full path; a description for Memory).</summary>
    public string Location { get; }

    /// <summary>
    /// The lifetime of responses that give none of their own: NeverExpire, ExpireImmediately, DoNotCache,
    /// a duration (d.hh:mm:ss) or an instant.
    /// </summary>
    public string ExpireAfter { get; }

    /// <summary>True when the responses' Cache-Control and Expires headers win over <see cref="ExpireAfter"/>.</summary>
    public bool CacheControl { get; }

    /// <summary>The request methods whose responses are cached.</summary>
    public string[] AllowedMethods { get; }

    /// <summary>The status codes that are cached.</summary>
    public int[] AllowedStatusCodes { get; }

    /// <summary>When the session was created (local time).</summary>
    public DateTime CreatedAt { get; }

    /// <summary>True for the shared session the cmdlets use when -Session is not given.</summary>
    public bool IsDefault { get; }

    /// <summary>
    /// The engine's session. Engine types appear in this assembly's public types only as reference-typed
    /// members (never a field of an engine struct): PowerShell lists the exported types before the module's
    /// initializer lets the runtime find the engine, and only a value-typed field would need it loaded then.
    /// </summary>
    internal HttpCacheSession Engine { get; }

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    internal bool IsDisposed { get; private set; }

    /// <summary>Flushes the session's counters to its store and closes the store.</summary>
    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        IsDisposed = true;
        Engine.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

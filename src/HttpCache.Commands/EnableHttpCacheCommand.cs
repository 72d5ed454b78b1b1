using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Caches a script's plain Invoke-WebRequest and Invoke-RestMethod calls without editing it: requests-cache's install_cache.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Enable, "HttpCache")]
[OutputType(typeof(DropIn))]
public sealed class EnableHttpCacheCommand : PSCmdlet
{
    /// <summary>The session the calls go through (default: the shared default session).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>Global (the default): every script and the prompt of this runspace; Local: the calling script's or function's own scope.</summary>
    [Parameter]
    [ValidateSet(DropInScopes.Global, DropInScopes.Local)]
    public string Scope { get; set; } = DropInScopes.Global;

    /// <summary>Outputs the drop-in (HttpCache.DropIn).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (Session is { IsDisposed: true })
        {
            ThrowTerminatingError(Errors.SessionDisposed(Session));
        }

        var global = Scope.Equals(DropInScopes.Global, StringComparison.OrdinalIgnoreCase);
        var functions = new DropInFunctions(this, global);
        DropInScopes.RefuseForeignFunctions(this, functions);

        var previous = functions.Current();
        var dropIn = DropInFunctions.Create(this, Session, global ? DropInScopes.Global : DropInScopes.Local);
        dropIn.Register();
        functions.Install(dropIn);
        previous?.Unregister();

        WriteVerbose($"Invoke-WebRequest and Invoke-RestMethod (and the aliases naming them) now go through the cache session '{dropIn.SessionName}' in the {Scope.ToLowerInvariant()} scope{(previous is null ? string.Empty : $", in place of session '{previous.SessionName}'")}. Disable-HttpCache -Scope {Scope} restores the built-ins.");
        if (PassThru)
        {
            WriteObject(dropIn);
        }
    }
}

/// <summary>The scopes a drop-in lives in, and what the three drop-in cmdlets share.</summary>
internal static class DropInScopes
{
    public const string Global = "Global";
    public const string Local = "Local";
    public const string Block = "Block";

    /// <summary>
    /// Stops the command when the scope holds a function of the user's own under a replaced name: replacing it
    /// would lose it, and removing it later would lose it for good.
    /// </summary>
    public static void RefuseForeignFunctions(PSCmdlet cmdlet, DropInFunctions functions)
    {
        foreach (var (name, _) in DropInFunctions.Replaced)
        {
            if (functions.Get(name) is { } body && !DropInFunctions.IsDropIn(body))
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(
                    new InvalidOperationException($"This scope already has a function of its own named {name}; drop-in caching would replace it. Remove or rename that function, or call Invoke-Cached{name["Invoke-".Length..]} where the cache should answer."),
                    ErrorIds.DropInFunctionExists,
                    ErrorCategory.ResourceExists,
                    name));
            }
        }
    }
}

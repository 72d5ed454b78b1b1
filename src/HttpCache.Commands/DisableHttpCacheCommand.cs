using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Turns off what Enable-HttpCache turned on in a scope: plain Invoke-WebRequest and Invoke-RestMethod are the built-ins again.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Disable, "HttpCache")]
[OutputType(typeof(void))]
public sealed class DisableHttpCacheCommand : PSCmdlet
{
    /// <summary>The scope Enable-HttpCache was given: Global (the default) or Local.</summary>
    [Parameter]
    [ValidateSet(DropInScopes.Global, DropInScopes.Local)]
    public string Scope { get; set; } = DropInScopes.Global;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var functions = new DropInFunctions(this, Scope.Equals(DropInScopes.Global, StringComparison.OrdinalIgnoreCase));
        var current = functions.Current();
        foreach (var (name, _) in DropInFunctions.Replaced)
        {
            // Only the drop-in's own functions: a user's function of the same name stays.
            if (DropInFunctions.IsDropIn(functions.Get(name)))
            {
                functions.Remove(name);
            }
        }

        if (current is null)
        {
            WriteVerbose($"Drop-in caching was not on in the {Scope.ToLowerInvariant()} scope: nothing to turn off.");
            return;
        }

        current.Unregister();
        WriteVerbose($"Invoke-WebRequest and Invoke-RestMethod are the built-ins again in the {Scope.ToLowerInvariant()} scope (session '{current.SessionName}' is left open).");
    }
}

using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Runs a script block with plain Invoke-WebRequest and Invoke-RestMethod going through the cache, then restores what was there: requests-cache's enabled().</para>
/// </summary>
[Cmdlet(VerbsOther.Use, "HttpCache")]
[OutputType(typeof(object))]
public sealed class UseHttpCacheCommand : PSCmdlet
{
    /// <summary>The session the block's calls go through (default: the shared default session).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SessionVariableCompleter))]
    public CacheSession? Session { get; set; }

    /// <summary>The code to run, in the caller's scope (as ForEach-Object and Measure-Command run theirs): its variables stay, its output is this command's.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(NoCompletion))]
    public ScriptBlock ScriptBlock { get; set; } = null!;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (Session is { IsDisposed: true })
        {
            ThrowTerminatingError(Errors.SessionDisposed(Session));
        }

        var functions = new DropInFunctions(this, global: false);
        DropInScopes.RefuseForeignFunctions(this, functions);

        // What this scope held before (a drop-in of Enable-HttpCache -Scope Local, or of an enclosing Use-HttpCache).
        var saved = DropInFunctions.Replaced.Select(r => (r.Name, Body: functions.Get(r.Name))).ToArray();
        var dropIn = DropInFunctions.Create(this, Session, DropInScopes.Block);
        dropIn.Register();
        System.Collections.ObjectModel.Collection<PSObject> output;
        try
        {
            functions.Install(dropIn);
            WriteVerbose($"Invoke-WebRequest and Invoke-RestMethod go through the cache session '{dropIn.SessionName}' until the block ends.");
            output = SessionState.InvokeCommand.InvokeScript(false, ScriptBlock, null);
        }
        finally
        {
            foreach (var (name, body) in saved)
            {
                if (body is null)
                {
                    functions.Remove(name);
                }
                else
                {
                    functions.Set(name, body);
                }
            }

            dropIn.Unregister();
        }

        foreach (var item in output)
        {
            WriteObject(item);
        }
    }
}

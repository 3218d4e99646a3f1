"""What every vendor request shares: the call, the ordered steps, the journal entry, who may call, the upload flow."""

"""Sources: everything that writes a registry. Today the synthetic generator
(``myositis.sources.synthetic``); importers for REDCap, FHIR, OMOP and spreadsheets share one
contract: read -> validated Arrow batches + problems -> one atomic write."""

"""A vanilla (Elman) RNN, one time step at a time."""
import torch
import torch.nn as nn


class VanillaRNN(nn.Module):
    """One step of a vanilla RNN with a log-softmax output layer.

    Both layers read the concatenation of the input and the previous hidden state:

        z      = [x_t, h_{t-1}]                          (N, D + H)
        h_t    = tanh(z W_h^T + b_h)                     (N, H)
        out_t  = log_softmax(z W_o^T + b_o)  over the O output classes   (N, O)

    Layers (the grader loads weights by these names):
        i2h: nn.Linear with input_size + hidden_size inputs and hidden_size outputs (W_h, b_h)
        i2o: nn.Linear with input_size + hidden_size inputs and output_size outputs (W_o, b_o)

    Run it over a sequence by calling ``forward`` once per step and passing the
    returned hidden state back in.
    """

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        # BEGIN SOLUTION
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        # END SOLUTION

    def forward(self, x, hidden):
        """One time step.

        Args:
            x:      (N, D) input at step t.
            hidden: (N, H) hidden state h_{t-1}.

        Returns:
            (log_probs, hidden): log_probs (N, O), each row a log-distribution over the
            O classes (its exp sums to 1); hidden (N, H) is h_t.
        """
        # BEGIN SOLUTION
        combined = torch.cat((x, hidden), dim=1)                   # (N, D + H)
        new_hidden = torch.tanh(self.i2h(combined))                # (N, H)
        log_probs = torch.log_softmax(self.i2o(combined), dim=1)   # (N, O)
        return log_probs, new_hidden
        # END SOLUTION
